// The web app end to end in real Chromium (the Debian package, driven by playwright-core):
// `switchboard serve --http-port 0` serves the built app (dist/web) and /ws; browsers act as
// users do (forms, buttons, the message box) beside terminal-protocol TCP clients, and the tests
// read what the users see. One browser process, one context (= one user's browser) per user.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { AppPage, chromiumAvailable, drops, eventually, launchChromium } from '../helpers/browser';
import { TestClient } from '../helpers/client';
import { gradientPng } from '../helpers/png';
import { missingPrerequisite } from '../helpers/prerequisite';
import { PASSWORD, memberClient } from '../helpers/requests';
import { descendants, cmdline, socketInodes, tcpTable } from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';

const T = { timeout: 60_000 };

const RUN = Math.random().toString(36).slice(2, 6);
let n = 0;
/** A fresh name (user or room) per use: the tests share one server. */
const uniq = (prefix: string): string => `${prefix}${RUN}${(n++).toString(36)}`;

const present = chromiumAvailable();
let server: RunningServer;
let browser: Browser;
let url: string;

/** Registers `name` over TCP (quicker than through the UI, which the first test covers). */
async function register(name: string): Promise<void> {
  const { client } = await TestClient.welcomed(server.port);
  client.send({ type: 'register', username: name, password: PASSWORD });
  await client.waitFor((m) => m.type === 'registered' || m.type === 'error');
  await client.close();
}

/** A TCP client logged in as `name` (registered first) and in `room` (created if missing), closed after the test. */
async function tcpUser(t: TestContext, name: string, room?: string): Promise<TestClient> {
  const client = await memberClient(server.port, name, room);
  t.after(() => client.close());
  return client;
}

/** A browser of its own, signed in as `name` (registered first unless `registered`). */
async function browserUser(t: TestContext, name: string, opts: { registered?: boolean; viewport?: { width: number; height: number }; elsewhere?: boolean } = {}): Promise<AppPage> {
  if (!opts.registered) await register(name);
  const app = await AppPage.open(browser, url, opts.viewport, { elsewhere: opts.elsewhere });
  t.after(() => app.close());
  await app.signIn(name, PASSWORD);
  return app;
}

describe('web app in Chromium', () => {
  before(async () => {
    if (!present) return;
    server = await startServer({ args: ['--http-port', '0', '--workers', '2', '--rate-limit', '500', '--rate-burst', '1000', '--account-rate-limit', '500'] });
    url = `http://127.0.0.1:${server.httpPort}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('sign up in the browser; two browsers and a terminal client in one room hear each other', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const room = uniq('Room');
    const carol = await tcpUser(t, uniq('carol'), room);
    // Alice signs up through the form (register, then the app signs in by itself).
    const aliceName = uniq('alice');
    const alice = await AppPage.open(browser, url);
    t.after(() => alice.close());
    await alice.page.getByRole('tab', { name: 'Create account' }).click();
    await alice.page.getByLabel('Username').fill(aliceName);
    await alice.page.getByLabel('Password').fill(PASSWORD);
    await alice.page.getByRole('button', { name: 'Create account and sign in' }).click();
    await alice.page.getByTestId('me').filter({ hasText: aliceName }).waitFor();
    const bobName = uniq('bob');
    const bob = await browserUser(t, bobName);
    await alice.joinRoom(room);
    await bob.joinRoom(room);
    // Everyone is listed as a member with a presence dot.
    await alice.page.getByTestId('member-list').locator(`[data-member="${bobName}"] .dot`).waitFor();

    await alice.say('hello from alice');
    await bob.waitForMessage('hello from alice');
    await carol.waitFor((m) => m.type === 'message' && m.content === 'hello from alice' && m.identity === aliceName);
    await bob.say('hi alice, bob here');
    await alice.waitForMessage('hi alice, bob here');
    await carol.waitFor((m) => m.type === 'message' && m.content === 'hi alice, bob here');
    carol.send({ type: 'message', content: 'carol on the terminal' });
    await alice.waitForMessage('carol on the terminal');
    await bob.waitForMessage('carol on the terminal');

    const rows = await alice.rows();
    assert.deepEqual(rows.map((r) => r.text), ['hello from alice', 'hi alice, bob here', 'carol on the terminal']);
    assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3]);
    // Sender and HH:MM time are shown.
    const head = alice.messages().first();
    assert.equal(await head.locator('.author').textContent(), aliceName);
    assert.match((await head.locator('time').first().textContent()) ?? '', /^\d\d:\d\d$/);
    // Alice deletes (recalls) her message: everyone sees the placeholder instead.
    await head.hover();
    await head.getByRole('button', { name: 'Delete message' }).click();
    await bob.messages().first().locator('p.recalled', { hasText: 'This message was deleted.' }).waitFor();
    await alice.messages().first().locator('p.recalled').waitFor();
  });

  test('scrolling back pages through history until the start of the room', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const room = uniq('Hist');
    const writer = await tcpUser(t, uniq('writer'), room);
    const total = 130; // three pages of 50
    for (let i = 1; i <= total; i++) writer.send({ type: 'message', content: `line ${i}` });
    await writer.waitFor((m) => m.type === 'message' && m.content === `line ${total}`, 20_000);
    const reader = await browserUser(t, uniq('reader'));
    await reader.joinRoom(room);
    await reader.waitForMessage(`line ${total}`);
    assert.ok((await reader.messages().count()) < total, 'the first view is one page, not the whole history');
    const list = reader.page.getByTestId('messages');
    await eventually('the start of the history', async () => {
      await list.evaluate((el) => (el.scrollTop = 0));
      return reader.page.getByTestId('start-of-history').isVisible();
    }, 20_000, 200);
    const rows = await reader.rows();
    assert.equal(rows.length, total);
    assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: total }, (_, i) => i + 1));
    assert.deepEqual(rows.map((r) => r.text), Array.from({ length: total }, (_, i) => `line ${i + 1}`));
  });

  test('a room the user is not in shows an unread badge for what was said there since', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const busy = uniq('Busy');
    const quiet = uniq('Quiet');
    const writer = await tcpUser(t, uniq('writer'), busy);
    await tcpUser(t, uniq('other'), quiet);
    const reader = await browserUser(t, uniq('reader'));
    await reader.joinRoom(busy);
    await reader.joinRoom(quiet);
    for (let i = 1; i <= 3; i++) writer.send({ type: 'message', content: `news ${i}` });
    await writer.waitFor((m) => m.type === 'message' && m.content === 'news 3');
    // The app asks every room for its newest message every 15 s; the test asks now.
    await reader.page.evaluate(() => (globalThis as unknown as { switchboard: { probeRooms(): void } }).switchboard.probeRooms());
    const entry = reader.page.getByTestId('room-list').locator(`[data-room="${busy}"]`);
    await entry.locator('.badge', { hasText: '3' }).waitFor();
    await entry.click();
    await reader.waitForMessage('news 3');
    await entry.locator('.badge').waitFor({ state: 'detached' });
  });

  test('a DM to a user who is offline is shown, with an unread badge, when they sign in', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const senderName = uniq('sender');
    const sender = await tcpUser(t, senderName);
    const dana = uniq('dana');
    await register(dana);
    sender.send({ type: 'dm', to: dana, content: 'while you were out' });
    await sender.waitFor((m) => m.type === 'dm' && m.content === 'while you were out');
    const app = await browserUser(t, dana, { registered: true });
    const entry = app.page.getByTestId('dm-list').locator(`[data-peer="${senderName}"]`);
    await entry.locator('.badge', { hasText: '1' }).waitFor();
    // Notifications are not granted in this browser: the tab's title counts what is unread.
    assert.match(await app.page.title(), /^\(1\) /);
    await entry.click();
    await app.waitForMessage('while you were out');
    await entry.locator('.badge').waitFor({ state: 'detached' });
    assert.doesNotMatch(await app.page.title(), /^\(/);
    // And a reply goes back to the terminal user.
    await app.say('back now');
    await sender.waitFor((m) => m.type === 'dm' && m.content === 'back now' && m.from === dana);
  });

  test('an image uploaded in one browser shows as a preview in the other; a file as a card with its size', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const room = uniq('Pics');
    const ivy = await browserUser(t, uniq('ivy'));
    const jack = await browserUser(t, uniq('jack'));
    const watcher = await tcpUser(t, uniq('term'), room);
    await ivy.joinRoom(room);
    await jack.joinRoom(room);
    // Through the paperclip's file input, as a user picking a file does.
    await ivy.page.getByTestId('file-input').setInputFiles({ name: 'sunset.png', mimeType: 'image/png', buffer: gradientPng(64, 48) });
    const sent = await watcher.waitFor((m) => m.type === 'message' && typeof m.attachment === 'object');
    const attachment = sent.attachment as { id: string; name: string; type: string; thumbnail: boolean };
    assert.equal(attachment.name, 'sunset.png');
    assert.equal(attachment.type, 'image/png');
    const preview = jack.messages().locator(`img[data-file-id="${attachment.id}"]`);
    await preview.waitFor();
    assert.match((await preview.getAttribute('src')) ?? '', /^blob:/, 'fetched with the token into a blob URL');
    assert.ok(await preview.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0), 'the thumbnail decodes as an image');
    // A picture pasted into the message box goes the same way.
    await ivy.page.locator('#composer-input').evaluate((box, bytes) => {
      const g = globalThis as unknown as { DataTransfer: any; File: any; ClipboardEvent: any; Uint8Array: any };
      const dt = new g.DataTransfer();
      dt.items.add(new g.File([new g.Uint8Array(bytes)], 'pasted.png', { type: 'image/png' }));
      box.dispatchEvent(new g.ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, [...gradientPng(40, 30)]);
    const pasted = await watcher.waitFor((m) => m.type === 'message' && (m.attachment as { name?: string } | undefined)?.name === 'pasted.png');
    await jack.messages().locator(`img[data-file-id="${(pasted.attachment as { id: string }).id}"]`).waitFor();
    // A text file dropped on the conversation (drag and drop), with a progress bar while it goes
    // up: a card with name, size and a download button on the other side, no preview.
    await jack.page.evaluate(() => {
      const g = globalThis as unknown as { document: any; MutationObserver: any; DataTransfer: any; File: any; seenProgress: number };
      g.seenProgress = -1;
      new g.MutationObserver(() => {
        const bar = g.document.querySelector('[data-testid="upload-progress"] progress');
        if (bar) g.seenProgress = Math.max(g.seenProgress, Number(bar.value));
      }).observe(g.document.body, { subtree: true, childList: true, attributes: true });
      const dt = new g.DataTransfer();
      dt.items.add(new g.File(['x'.repeat(3 * 1024 * 1024)], 'notes.txt', { type: 'text/plain' }));
      const target = g.document.querySelector('section.conversation');
      target.dispatchEvent(new (globalThis as any).DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new (globalThis as any).DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const card = ivy.messages().getByTestId('file-attachment').filter({ hasText: 'notes.txt' });
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /3\.0 MB/);
    assert.ok((await jack.page.evaluate(() => (globalThis as unknown as { seenProgress: number }).seenProgress)) >= 0, 'a progress bar was shown');
    const download = ivy.page.waitForEvent('download');
    await card.getByRole('button', { name: 'Download notes.txt' }).click();
    assert.equal((await download).suggestedFilename(), 'notes.txt');
  });

  test('one account signed in on two browsers: a DM reaches both', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const erin = uniq('erin');
    const laptop = await browserUser(t, erin, { elsewhere: true });
    const phone = await browserUser(t, erin, { registered: true, viewport: { width: 390, height: 760 } });
    const frankName = uniq('frank');
    const frank = await tcpUser(t, frankName);
    frank.send({ type: 'dm', to: erin, content: 'to every device of yours' });
    await frank.waitFor((m) => m.type === 'dm' && m.content === 'to every device of yours');
    for (const app of [laptop, phone]) {
      const entry = app.page.getByTestId('dm-list').locator(`[data-peer="${frankName}"]`);
      await entry.locator('.badge', { hasText: '1' }).waitFor({ state: 'attached' });
    }
    // The laptop's user is in another window: a desktop notification says who wrote what.
    const shown = await laptop.page.evaluate(() => (globalThis as unknown as { notifications: unknown[] }).notifications);
    assert.deepEqual(shown, [{ title: `${frankName} (direct message)`, body: 'to every device of yours' }]);
    await laptop.page.getByTestId('dm-list').locator(`[data-peer="${frankName}"]`).click();
    await laptop.waitForMessage('to every device of yours');
    await phone.page.getByRole('button', { name: 'Open rooms and direct messages' }).click();
    await phone.page.getByTestId('dm-list').locator(`[data-peer="${frankName}"]`).click();
    await phone.waitForMessage('to every device of yours');
    // A reply from one device shows on the other (the sender's copy goes to all its devices).
    await phone.say('got it on my phone');
    await laptop.waitForMessage('got it on my phone');
    await frank.waitFor((m) => m.type === 'dm' && m.content === 'got it on my phone');
  });

  test('a contact added from search sees the other user come online, change status, go away and leave', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const gina = await browserUser(t, uniq('gina'));
    const hankName = uniq('hank');
    await register(hankName);
    const p = gina.page;
    await p.getByRole('button', { name: 'Your account' }).click();
    await p.getByRole('menuitem', { name: 'Contacts…' }).click();
    await p.getByLabel('Find people').fill(hankName.slice(0, 8));
    await p.getByTestId('search-results').getByRole('button', { name: `Add ${hankName} to contacts` }).click();
    await p.getByRole('list', { name: 'Your contacts' }).getByText(hankName).waitFor();
    await p.keyboard.press('Escape'); // focus is in the search field: Escape still closes the dialog
    await p.getByRole('dialog', { name: 'Contacts' }).waitFor({ state: 'detached' });
    const contact = p.getByTestId('contact-list').locator(`[data-contact="${hankName}"]`);
    await contact.and(p.locator('[data-state="offline"]')).waitFor();
    const { client: hank } = await TestClient.welcomed(server.port);
    t.after(() => hank.close());
    hank.send({ type: 'login', username: hankName, password: PASSWORD });
    await contact.and(p.locator('[data-state="online"]')).waitFor();
    hank.send({ type: 'status', text: 'at lunch' });
    await contact.getByText('at lunch').waitFor();
    hank.send({ type: 'away', on: true });
    await contact.and(p.locator('[data-state="away"]')).waitFor();
    hank.send({ type: 'dnd', on: true });
    await contact.and(p.locator('[data-state="dnd"]')).waitFor();
    await hank.close();
    await contact.and(p.locator('[data-state="offline"]')).waitFor();
  });

  test('an owner creates a room and moderates it from the menus, by keyboard too', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const owner = await browserUser(t, uniq('owner'));
    const p = owner.page;
    const room = uniq('Mod');
    await p.getByRole('button', { name: 'Add a room' }).click();
    await p.getByRole('menuitem', { name: 'Create a room…' }).click();
    await p.getByLabel('Name').fill(room);
    await p.getByRole('button', { name: 'Create', exact: true }).click();
    await p.getByTestId('conversation-title').filter({ hasText: new RegExp(`^${room}$`) }).waitFor();
    const guestName = uniq('g');
    const { client: guest } = await TestClient.welcomed(server.port);
    t.after(() => guest.close());
    guest.send({ type: 'identitychange', identity: guestName });
    guest.send({ type: 'join', roomid: room });
    await guest.waitFor((m) => m.type === 'roomchange' && m.roomid === room);
    const member = p.getByTestId('member-list').locator(`[data-member="${guestName}"]`);
    await member.waitFor();
    // The member's menu by keyboard: Enter opens it, Escape closes it and gives focus back.
    const menuButton = member.getByRole('button', { name: `Actions for ${guestName}` });
    await menuButton.focus();
    await p.keyboard.press('Enter');
    await p.getByRole('menu').waitFor();
    await p.keyboard.press('Escape');
    await p.getByRole('menu').waitFor({ state: 'detached' });
    assert.equal(await menuButton.evaluate((el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement), true, 'focus is back on the menu button: ' + (await p.evaluate(() => (globalThis as unknown as { document: { activeElement: { outerHTML: string } } }).document.activeElement.outerHTML)));
    await menuButton.click();
    await p.getByRole('menuitem', { name: 'Remove from the room' }).click();
    await guest.waitFor((m) => m.type === 'kick' && m.identity === guestName);
    await guest.waitFor((m) => m.type === 'roomchange' && m.identity === guestName && m.roomid === 'MainHall');
    await member.waitFor({ state: 'detached' });
    // The room's menu: private, then delete.
    await p.getByRole('button', { name: 'Room actions' }).click();
    await p.getByRole('menuitem', { name: 'Make the room private' }).click();
    await p.getByText(`#${room} is now private`).waitFor();
    await p.getByRole('button', { name: 'Room actions' }).click();
    await p.getByRole('menuitem', { name: 'Delete the room…' }).click();
    await p.getByRole('button', { name: 'Delete', exact: true }).click();
    await p.getByTestId('conversation-title').filter({ hasText: /^MainHall$/ }).waitFor();
    await p.getByTestId('room-list').locator(`[data-room="${room}"]`).waitFor({ state: 'detached' });
  });

  test('a worker killed with SIGKILL under a browser: it reconnects and resumes with no gaps or duplicates', T, async (t) => {
    if (missingPrerequisite(t, present, `Chromium is not installed at /usr/bin/chromium (apt-get install chromium)`)) return;
    const room = uniq('Crash');
    const writerName = uniq('writer');
    let writer = await tcpUser(t, writerName, room);
    const app = await browserUser(t, uniq('watcher'));
    await app.joinRoom(room);
    for (let i = 1; i <= 5; i++) writer.send({ type: 'message', content: `before ${i}` });
    await app.waitForMessage('before 5');

    // The workers holding the browser's HTTP/WebSocket connections (established on the HTTP port).
    const httpInodes = new Set(tcpTable().filter((r) => r.localPort === server.httpPort && r.state === '01' && r.inode !== 0).map((r) => r.inode));
    const workers = descendants(server.pid).filter((pid) => cmdline(pid).some((a) => a.endsWith('worker/main.js')));
    const victims = workers.filter((pid) => [...socketInodes(pid)].some((i) => httpInodes.has(i)));
    assert.ok(victims.length >= 1, `found the worker under the browser among ${workers.join(', ')}`);
    const dropsBefore = await drops(app);
    // Record the banner the browser shows; once its worker is killed, keep it away while the
    // room goes on (its reconnects fail while "offline"), so what it missed can only come back
    // through its resume.
    await app.page.evaluate(() => {
      const g = globalThis as unknown as { document: any; MutationObserver: any; sawBanner: boolean };
      g.sawBanner = false;
      new g.MutationObserver(() => {
        if (g.document.querySelector('[data-testid="reconnecting"]')) g.sawBanner = true;
      }).observe(g.document.body, { subtree: true, childList: true });
    });
    for (const pid of victims) process.kill(pid, 'SIGKILL');
    // Right after the kill (the browser's first retry waits at least ~190 ms).
    await app.context.setOffline(true);

    // The writer goes on at once (reconnecting itself if its worker was one of those killed).
    if (!(await Promise.race([writer.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]))) {
      for (let i = 1; i <= 10; i++) writer.send({ type: 'message', content: `during ${i}` });
    } else {
      // Its worker is gone too: come back once the pool has replaced the killed workers.
      await eventually('replacement workers', async () => {
        const now = descendants(server.pid).filter((pid) => cmdline(pid).some((a) => a.endsWith('worker/main.js')) && !victims.includes(pid));
        return now.length >= workers.length;
      }, 15_000, 50);
      await new Promise((r) => setTimeout(r, 500));
      writer = await tcpUser(t, writerName, room);
      for (let i = 1; i <= 10; i++) writer.send({ type: 'message', content: `during ${i}` });
    }
    await writer.waitFor((m) => m.type === 'message' && m.content === 'during 10');
    await eventually('the browser saw its connection drop', async () => (await drops(app)) > dropsBefore, 10_000, 20);
    assert.equal(await app.messages().locator('p.content', { hasText: 'during 1' }).count(), 0, 'nothing of the downtime reached the browser live');
    await app.context.setOffline(false);
    await app.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(await app.page.evaluate(() => (globalThis as unknown as { sawBanner: boolean }).sawBanner), true, '"Reconnecting…" was shown');
    for (let i = 1; i <= 5; i++) writer.send({ type: 'message', content: `after ${i}` });
    await app.waitForMessage('after 5', 15_000);

    const rows = await app.rows();
    const expected = [...[1, 2, 3, 4, 5].map((i) => `before ${i}`), ...Array.from({ length: 10 }, (_, i) => `during ${i + 1}`), ...[1, 2, 3, 4, 5].map((i) => `after ${i}`)];
    assert.deepEqual(rows.map((r) => r.text), expected, 'every message once, in order');
    assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i + 1), 'no gap in the seqs');
    assert.equal(new Set(rows.map((r) => r.id)).size, 20, 'no duplicate ids');
  });
});
