import { newMessageId } from './message-ids';
import type { SessionKey } from '../core/effects';
import { encodeToRoom } from '../ipc/hub-link-messages';
import type { Attachment } from '../protocol/messages';
import type { RoomMessage, Store } from '../store/store';
import { newEpoch } from './epochs';
import type { Outbox } from './outbox';
import type { WorkerLink } from './worker-link';

/** A room's gathered chat is sent once the turn's total reaches this, far below a worker's frame bound. */
const FLUSH_AT_BYTES = 1024 * 1024;
/** What a message line costs beyond its content and identity (field names, id, seq, ts, epoch). */
const LINE_OVERHEAD_BYTES = 160;

/** A message waiting for its batch: its seq is given when the batch is stored. */
type Draft = Omit<RoomMessage, 'seq'>;

interface PendingRoom {
  drafts: Draft[];
  senders: SessionKey[];
}

/** One room's sequence: its epoch, its last stored seq, and whether the epoch is stored. */
interface Sequence {
  epoch: string;
  last: number;
  /** The epoch still to be written: 'restart' deletes the room's older messages, 'keep' not. */
  unsaved: 'restart' | 'keep' | null;
}

/**
 * What the router needs of a sequencer: the one node's RoomSequencer, or a cluster's
 * (src/cluster/cluster-sequencer.ts), where a seq follows from the replicated log's order.
 */
export interface Sequencer {
  /**
   * True: messages are stored under their epoch (`RoomMessage.epoch`) and read by it (a
   * cluster, whose nodes all write one store); false: unlabelled (one node, the only writer).
   */
  readonly epochKeyed: boolean;
  /** The stored sequences, read once at boot. */
  load(lastSeqs: Map<string, number>, epochs: Map<string, string>): void;
  /** Rooms whose sequence is known. */
  knownRooms(): string[];
  /** A room message; `stamp` fixes its id and ts (a cluster's proposer chose them); `attachment`: the file it carries. */
  add(sender: SessionKey, roomid: string, identity: string, content: string, account: string | null, stamp?: MessageStamp, attachment?: Attachment): void;
  /** Cuts the batch: recipients fixed now. Runs before every state change. */
  flush(): void;
  openRoom(roomid: string): void;
  closeRoom(roomid: string): void;
  /** The room's epoch and last seq, once everything sequenced before is stored. */
  current(roomid: string): Promise<{ epoch: string; last: number }>;
  /** Resolves once every step queued so far is done. */
  settled(): Promise<void>;
}

/** A room message's id and time, when fixed before it reaches the sequencer. */
export interface MessageStamp {
  id: string;
  ts: number;
}

export interface SequencerHooks {
  /** Workers with members in the room now: the recipients are fixed when the batch is cut. */
  workersOf(roomid: string): Iterable<WorkerLink>;
  /** The batch could not be stored: nobody received it; tell its senders. */
  storeFailed(err: Error, senders: SessionKey[]): void;
  /** Starting or ending a room's history failed (retried before the room's next batch or read). */
  roomWriteFailed(err: Error, roomid: string): void;
}

/**
 * Per-room total order in epochs. Gathers the room messages of one event-loop turn, stores
 * them as one batch (one transaction) and only then lets the outbox deliver them: a message is
 * stored before anyone, its sender included, receives it.
 *
 * Every store step (a batch, a room's new epoch, a room's end) runs on one chain, in the order
 * decided, one after another. A message gets its `seq` when its batch is stored, from the
 * room's last *stored* seq: a batch that fails takes no seq with it, so the next one continues
 * at +1 with no gap. A new room (created under a name used before) starts a new epoch at seq 1;
 * a room that is gone takes its history with it (docs/PROTOCOL.md, "Epochs").
 */
export class RoomSequencer implements Sequencer {
  readonly epochKeyed = false;
  private readonly rooms = new Map<string, Sequence>();
  private readonly pending = new Map<string, PendingRoom>();
  private pendingBytes = 0;
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly store: Store,
    private readonly outbox: Outbox,
    private readonly hooks: SequencerHooks,
  ) {}

  /**
   * The stored sequences, read once at boot. A room with messages but no epoch (not possible
   * after the epochs migration, but cheap to cover) gets one that keeps its messages.
   */
  load(lastSeqs: Map<string, number>, epochs: Map<string, string>): void {
    for (const [roomid, epoch] of epochs) this.rooms.set(roomid, { epoch, last: lastSeqs.get(roomid) ?? 0, unsaved: null });
    for (const [roomid, last] of lastSeqs) {
      if (!this.rooms.has(roomid)) this.rooms.set(roomid, { epoch: newEpoch(), last, unsaved: 'keep' });
    }
  }

  /** Rooms whose sequence is known (stored or started since boot). */
  knownRooms(): string[] {
    return [...this.rooms.keys()];
  }

  /** `account`: the sender's username, null for a guest (stored, for `recall`). */
  add(sender: SessionKey, roomid: string, identity: string, content: string, account: string | null, _stamp?: MessageStamp, attachment?: Attachment): void {
    const draft: Draft = { id: newMessageId(), roomid, identity, sender: account, content, ts: Date.now(), recalled: false, attachment: attachment ?? null };
    let room = this.pending.get(roomid);
    if (!room) this.pending.set(roomid, (room = { drafts: [], senders: [] }));
    room.drafts.push(draft);
    room.senders.push(sender);
    this.pendingBytes += Buffer.byteLength(content) + identity.length + LINE_OVERHEAD_BYTES;
    if (this.pendingBytes >= FLUSH_AT_BYTES || room.drafts.length >= 0xffff) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Cuts the batch: recipients fixed now, delivery once stored. Runs before every state change. */
  flush(): void {
    if (this.pending.size === 0) return;
    const slot = this.outbox.hold();
    const cut = [...this.pending].map(([roomid, room]) => ({ roomid, room, workers: [...this.hooks.workersOf(roomid)] }));
    this.pending.clear();
    this.pendingBytes = 0;
    void this.run(async () => {
      try {
        const stored: RoomMessage[][] = [];
        for (const { roomid, room } of cut) {
          const sequence = await this.saved(roomid);
          stored.push(room.drafts.map((d, i) => ({ ...d, seq: sequence.last + 1 + i })));
        }
        await this.store.appendRoomMessages(stored.flat());
        cut.forEach(({ roomid, workers }, i) => {
          const sequence = this.rooms.get(roomid)!;
          const messages = stored[i]!;
          sequence.last += messages.length;
          const frame = encodeToRoom(roomid, messages.map((m) => ({ sender: m.identity, line: Buffer.from(encodeRoomMessage(m, sequence.epoch)) })));
          for (const worker of workers) slot.add(worker, frame);
        });
        slot.release();
      } catch (err) {
        slot.discard();
        this.hooks.storeFailed(err as Error, cut.flatMap((c) => c.room.senders));
      }
    });
  }

  /** A new room has this name: a new epoch, seq from 1, the older messages deleted. */
  openRoom(roomid: string): void {
    void this.run(async () => {
      this.rooms.set(roomid, { epoch: newEpoch(), last: 0, unsaved: 'restart' });
      await this.saved(roomid);
    }).catch((err: Error) => this.hooks.roomWriteFailed(err, roomid));
  }

  /** The room is gone: its history and epoch are deleted. */
  closeRoom(roomid: string): void {
    void this.run(async () => {
      this.rooms.delete(roomid);
      await this.store.deleteRoomHistory(roomid);
    }).catch((err: Error) => this.hooks.roomWriteFailed(err, roomid));
  }

  /**
   * The room's epoch and last seq once everything sequenced before is stored, the epoch
   * included: what a reader may pair with the stored history. Rejects when the epoch cannot
   * be stored (the reader is told STORE_FAILED).
   */
  current(roomid: string): Promise<{ epoch: string; last: number }> {
    return this.run(async () => {
      const { epoch, last } = await this.saved(roomid);
      return { epoch, last };
    });
  }

  /** Resolves once every step queued so far is done (stored or failed). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Queues a step behind the others; its outcome is the caller's, the chain goes on either way. */
  private run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.chain.then(step);
    this.chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** The room's sequence with its epoch stored; a room seen for the first time starts one. */
  private async saved(roomid: string): Promise<Sequence> {
    let sequence = this.rooms.get(roomid);
    if (!sequence) this.rooms.set(roomid, (sequence = { epoch: newEpoch(), last: 0, unsaved: 'restart' }));
    if (sequence.unsaved !== null) {
      await this.store.setRoomEpoch(roomid, sequence.epoch, sequence.unsaved === 'restart');
      sequence.unsaved = null;
    }
    return sequence;
  }
}

/**
 * The wire form of a room message; history and resume replay exactly this. A live line ends
 * with its `ts` number (the bench's line scanner reads the sender's stamp from the end).
 */
export function encodeRoomMessage(m: RoomMessage, epoch: string): string {
  const recalled = m.recalled ? ',"recalled":true' : '';
  // Before `ts`, which ends a live line (see above); a recalled message carries none.
  const attachment = m.attachment && !m.recalled ? `,"attachment":${JSON.stringify(m.attachment)}` : '';
  return `{"type":"message","identity":${JSON.stringify(m.identity)},"content":${JSON.stringify(m.content)},"roomid":${JSON.stringify(m.roomid)},"id":"${m.id}","seq":${m.seq},"epoch":"${epoch}"${attachment},"ts":${m.ts}${recalled}}\n`;
}
