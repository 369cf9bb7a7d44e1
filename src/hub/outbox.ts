import type { WorkerLink } from './worker-link';

interface Entry {
  held: boolean;
  sends: Array<[WorkerLink, Buffer]>;
}

/**
 * Every frame the hub sends to workers, in the order the hub decided it. A batch of room
 * messages is held until the store has it (stored before anyone receives it); whatever was
 * decided after it waits behind it, so no worker ever sees a later state change before an
 * earlier message.
 */
export class Outbox {
  private readonly queue: Entry[] = [];

  /** Bytes of the frames waiting behind a held entry (metrics: `switchboard_ipc_queue_bytes`). */
  pendingBytes(): number {
    let bytes = 0;
    for (const entry of this.queue) for (const [, frame] of entry.sends) bytes += frame.length;
    return bytes;
  }

  /** Sends now, or after the held entries ahead of it. */
  send(link: WorkerLink, frame: Buffer): void {
    if (this.queue.length === 0) return link.write(frame);
    const tail = this.queue[this.queue.length - 1]!;
    if (tail.held) this.queue.push({ held: false, sends: [[link, frame]] });
    else tail.sends.push([link, frame]);
  }

  /** Reserves a place in the order; what is added to it goes out once it is released. */
  hold(): { add(link: WorkerLink, frame: Buffer): void; release(): void; discard(): void } {
    const entry: Entry = { held: true, sends: [] };
    this.queue.push(entry);
    return {
      add: (link, frame) => entry.sends.push([link, frame]),
      release: () => {
        entry.held = false;
        this.drain();
      },
      /** Drops what was added (it must not be delivered) and lets the rest go on. */
      discard: () => {
        entry.sends = [];
        entry.held = false;
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.queue.length > 0 && !this.queue[0]!.held) {
      for (const [link, frame] of this.queue.shift()!.sends) link.write(frame);
    }
  }
}
