import fs from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/**
 * Test harness for the web app in real Chromium: the Debian `chromium` package driven by
 * playwright-core (no downloaded browser), headless, and page helpers that act as a user does
 * (forms, buttons, the message box) and read what the user sees (the DOM).
 */

/** Where `apt-get install chromium` puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser is installed (the e2e tests need it: see prerequisite.ts). */
export function chromiumAvailable(): boolean {
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Launches headless Chromium with the flags that keep it quiet and sandbox-free in a container. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** One user's browser tab on the app (its own context: its own storage, as another browser). */
export class AppPage {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** A new context and tab on `url`, the sign-in screen shown. */
  static async open(browser: Browser, url: string, viewport = { width: 1200, height: 800 }, opts: { elsewhere?: boolean } = {}): Promise<AppPage> {
    const context = await browser.newContext({ viewport });
    if (opts.elsewhere) {
      // The user is in another window and allowed notifications. Headless Chromium shows no
      // desktop notifications, so the page's Notification records what it was asked to show
      // (in `notifications`), and the page reports it has no focus.
      await context.addInitScript(() => {
        const g = globalThis as unknown as { notifications: Array<{ title: string; body: string }>; Notification: unknown; document: { hasFocus(): boolean } };
        g.notifications = [];
        g.Notification = class {
          static permission = 'granted';
          static requestPermission = () => Promise.resolve('granted');
          onclick: unknown = null;
          constructor(title: string, options?: { body?: string }) {
            g.notifications.push({ title, body: options?.body ?? '' });
          }
          close(): void {}
        };
        g.document.hasFocus = () => false;
      });
    }
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    const app = new AppPage(context, page);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    return app;
  }

  /** Signs in through the form and waits for the chat to show the user. */
  async signIn(username: string, password: string): Promise<void> {
    const p = this.page;
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.getByTestId('me').filter({ hasText: new RegExp(`^${username}$`, 'i') }).waitFor({ state: 'attached' });
  }

  /** Joins a room through the sidebar's "Join a room by name" dialog. */
  async joinRoom(roomid: string): Promise<void> {
    const p = this.page;
    await p.getByRole('button', { name: 'Add a room' }).click();
    await p.getByRole('menuitem', { name: 'Join a room by name…' }).click();
    await p.getByLabel('Room name').fill(roomid);
    await p.getByRole('button', { name: 'Join', exact: true }).click();
    await p.getByTestId('conversation-title').filter({ hasText: new RegExp(`^${roomid}$`) }).waitFor();
  }

  /** Types a message and presses Enter. */
  async say(text: string): Promise<void> {
    const box = this.page.locator('#composer-input');
    await box.fill(text);
    await box.press('Enter');
  }

  /** The rows of the conversation on screen. */
  messages() {
    return this.page.getByTestId('messages').locator('li.message');
  }

  /** Waits until a message with exactly this text is on screen. */
  async waitForMessage(text: string, timeout = 10_000): Promise<void> {
    await this.messages().locator('p.content', { hasText: text }).first().waitFor({ timeout });
  }

  /** What the conversation shows: each row's seq (room messages), author and text. */
  async rows(): Promise<Array<{ id: string; seq: number; author: string; text: string }>> {
    return this.messages().evaluateAll((els) =>
      els.map((el) => ({
        id: el.getAttribute('data-id') ?? '',
        seq: Number(el.getAttribute('data-seq') ?? NaN),
        author: el.getAttribute('data-author') ?? '',
        text: el.querySelector('p.content')?.textContent ?? '',
      })),
    );
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** Polls an async `probe` until it resolves truthy; fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How many times the page's connection went down (the app's `drops` counter). */
export function drops(app: AppPage): Promise<number> {
  return app.page.evaluate(() => (globalThis as unknown as { switchboard: { drops: number } }).switchboard.drops);
}
