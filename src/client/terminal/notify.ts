/**
 * Telling the user something needs them (a direct message, their name said in the room): the
 * terminal bell, a desktop notification (`notify-send`, when installed), or nothing.
 */
import { spawn, spawnSync } from 'node:child_process';

export type NotifyMode = 'bell' | 'desktop' | 'none';

export const NOTIFY_MODES: readonly NotifyMode[] = ['bell', 'desktop', 'none'];

/** Whether `text` mentions `name` as a word (case-insensitive). */
export function mentions(text: string, name: string): boolean {
  if (name === '') return false;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9])${escaped}($|[^A-Za-z0-9])`, 'i').test(text);
}

let notifySendPresent: boolean | null = null;

function hasNotifySend(): boolean {
  if (notifySendPresent === null) {
    notifySendPresent = spawnSync('notify-send', ['--version'], { stdio: 'ignore' }).status === 0;
  }
  return notifySendPresent;
}

/**
 * Alerts the user: `bell` rings (BEL on `output`); `desktop` shows `title`/`body` with
 * notify-send, and rings when it is not installed; `none` does nothing.
 */
export function notify(mode: NotifyMode, output: NodeJS.WritableStream, title: string, body: string): void {
  if (mode === 'none') return;
  if (mode === 'desktop' && hasNotifySend()) {
    const child = spawn('notify-send', ['--app-name=switchboard', title, body], { stdio: 'ignore', detached: false });
    child.on('error', () => undefined);
    child.unref();
    return;
  }
  output.write('\x07');
}
