import type { FileAnswer, FileAnswerFrame, FileAsk } from '../ipc/file-messages';
import { encodeFileAsk } from '../ipc/hub-link-messages';

/** FILE_ASKs of one worker waiting for the hub at once, at most; more are refused BUSY at once. */
export const MAX_FILE_ASKS_PER_WORKER = 64;
/** An ask the hub has not answered within this (a hub restarting) is refused BUSY. */
const ASK_TIMEOUT_MS = 10_000;

/**
 * A worker's questions to the hub about files, for its HTTP clients (not tied to a chat
 * session): each gets a correlation id that the hub's FILE_ANSWER repeats. Bounded in flight
 * and in time: a hub that is away or slow costs an HTTP client a 503, never a pile-up.
 */
export class FileAsker {
  private nextCid = 1;
  private readonly waiting = new Map<number, { resolve: (a: FileAnswer) => void; timer: NodeJS.Timeout }>();

  /** `send`: hands a frame to the hub link; false when it cannot take it (the hub is away and the queue full). */
  constructor(private readonly send: (frame: Buffer) => boolean) {}

  ask(ask: FileAsk): Promise<FileAnswer> {
    if (this.waiting.size >= MAX_FILE_ASKS_PER_WORKER) return Promise.resolve(busy('too many file requests waiting for the server; try again'));
    const cid = this.nextCid;
    this.nextCid = this.nextCid >= 0xffffffff ? 1 : this.nextCid + 1;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(cid);
        resolve(busy('the server did not answer in time; try again'));
      }, ASK_TIMEOUT_MS);
      timer.unref();
      this.waiting.set(cid, { resolve, timer });
      if (!this.send(encodeFileAsk({ cid, ask }))) {
        clearTimeout(timer);
        this.waiting.delete(cid);
        resolve(busy('the server is recovering; try again'));
      }
    });
  }

  /** The hub answered (an unknown cid is one that timed out: dropped). */
  answered(frame: FileAnswerFrame): void {
    const w = this.waiting.get(frame.cid);
    if (!w) return;
    this.waiting.delete(frame.cid);
    clearTimeout(w.timer);
    w.resolve(frame.answer);
  }
}

function busy(message: string): FileAnswer {
  return { ok: false, code: 'BUSY', message };
}
