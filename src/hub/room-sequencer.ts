import { newMessageId } from './message-ids';
import type { SessionKey } from '../core/effects';
import { encodeToRoom, type RoomLine } from '../ipc/hub-link-messages';
import type { RoomMessage, Store } from '../store/store';
import type { Outbox } from './outbox';
import type { WorkerLink } from './worker-link';

/** A room's gathered chat is sent once the turn's total reaches this, far below a worker's frame bound. */
const FLUSH_AT_BYTES = 1024 * 1024;

interface PendingRoom {
  messages: RoomMessage[];
  lines: RoomLine[];
  senders: SessionKey[];
}

export interface SequencerHooks {
  /** Workers with members in the room now: the recipients are fixed when the batch is cut. */
  workersOf(roomid: string): Iterable<WorkerLink>;
  /** The batch could not be stored: nobody received it; tell its senders. */
  storeFailed(err: Error, senders: SessionKey[]): void;
}

/**
 * Per-room total order: gives each room message the next `seq`, gathers the messages of one
 * event-loop turn, stores them as one batch (one transaction), and only then lets the
 * outbox deliver them: a message is stored before anyone, its sender included, receives it.
 * Batches commit one after another, so seq order, storage order and delivery order agree.
 */
export class RoomSequencer {
  private readonly lastSeq = new Map<string, number>();
  private readonly pending = new Map<string, PendingRoom>();
  private pendingBytes = 0;
  private scheduled = false;
  private commits: Promise<void> = Promise.resolve();
  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly store: Store,
    private readonly outbox: Outbox,
    private readonly hooks: SequencerHooks,
  ) {}

  /** The last stored seq of every room, read once at boot. */
  load(lastSeqs: Map<string, number>): void {
    for (const [roomid, seq] of lastSeqs) this.lastSeq.set(roomid, seq);
  }

  lastSeqOf(roomid: string): number {
    return this.lastSeq.get(roomid) ?? 0;
  }

  /** `account`: the sender's username, null for a guest (stored, for `recall`). */
  add(sender: SessionKey, roomid: string, identity: string, content: string, account: string | null): void {
    const seq = this.lastSeqOf(roomid) + 1;
    this.lastSeq.set(roomid, seq);
    const message: RoomMessage = { id: newMessageId(), roomid, seq, identity, sender: account, content, ts: Date.now(), recalled: false };
    const line = Buffer.from(encodeRoomMessage(message));
    let room = this.pending.get(roomid);
    if (!room) this.pending.set(roomid, (room = { messages: [], lines: [], senders: [] }));
    room.messages.push(message);
    room.lines.push({ sender: identity, line });
    room.senders.push(sender);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_AT_BYTES || room.lines.length >= 0xffff) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Cuts the batch: recipients fixed now, delivery once stored. Runs before every state change. */
  flush(): void {
    if (this.pending.size === 0) return;
    const slot = this.outbox.hold();
    const batch: RoomMessage[] = [];
    const senders: SessionKey[] = [];
    for (const [roomid, room] of this.pending) {
      batch.push(...room.messages);
      senders.push(...room.senders);
      const frame = encodeToRoom(roomid, room.lines);
      for (const worker of this.hooks.workersOf(roomid)) slot.add(worker, frame);
    }
    this.pending.clear();
    this.pendingBytes = 0;
    this.commits = this.commits
      .then(() => this.store.appendRoomMessages(batch))
      .then(
        () => slot.release(),
        (err: Error) => {
          slot.discard();
          this.hooks.storeFailed(err, senders);
        },
      );
  }

  /** Resolves once every batch cut so far is stored (or failed). */
  settled(): Promise<void> {
    return this.commits;
  }
}

/** The wire form of a room message; history and resume replay exactly this. */
export function encodeRoomMessage(m: RoomMessage): string {
  const recalled = m.recalled ? ',"recalled":true' : '';
  return `{"type":"message","identity":${JSON.stringify(m.identity)},"content":${JSON.stringify(m.content)},"roomid":${JSON.stringify(m.roomid)},"id":"${m.id}","seq":${m.seq},"ts":${m.ts}${recalled}}\n`;
}
