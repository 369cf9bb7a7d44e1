import type { Logger } from 'pino';
import type { SessionKey } from '../core/effects';
import { encodeToRoom } from '../ipc/hub-link-messages';
import type { Outbox } from '../hub/outbox';
import { encodeRoomMessage, type MessageStamp, type Sequencer } from '../hub/room-sequencer';
import type { WorkerLink } from '../hub/worker-link';
import type { Attachment } from '../protocol/messages';
import type { RoomMessage, Store } from '../store/store';
import type { ApplyContext } from './apply-context';
import { HistoryBacklog } from './history-backlog';

/** The messages of one cut, per room, with the recipients fixed when it was cut. */
interface Cut {
  slot: ReturnType<Outbox['hold']>;
  rooms: Array<{ roomid: string; messages: RoomMessage[]; workers: WorkerLink[]; epoch: string }>;
}

interface Sequence {
  epoch: string;
  /** Last seq given (at apply time, from log order). */
  last: number;
}

/**
 * Per-room order in a cluster. A message's seq is given when its log entry is applied: the
 * room's next, in log order, so it is the same on every replica whatever any store does. An
 * epoch is derived from the log position of the entry that opened the room (ApplyContext).
 *
 * Every node writes what it applies to the one shared store (PostgreSQL), under the message's
 * epoch, and delivers to its own sessions once its write is done: the sender's echo follows
 * its node's write, so `history` anywhere right after includes the message. Every replica
 * writes the same rows (same id, room, epoch and seq): the store keeps one, whichever node
 * comes first, so a node that dies mid-write costs nothing. Nothing is ever deleted but an
 * epoch that is over (its room gone or made anew), by its epoch: a node running behind the
 * others, or replaying the log at its start, may write that epoch again for a while, never
 * touch a newer one; reads are of the room's current epoch only. A write that fails does not
 * hold the message back (it is committed in the replicated log, and the other nodes write it
 * too): it is kept in order with the writes after it (HistoryBacklog) and retried until the
 * store takes it, so once PostgreSQL is back the table has every message delivered; a read
 * first writes what is owed (or fails with the store's error). Nothing is deleted at start:
 * the store is shared (docs/CLUSTER.md).
 */
export class ClusterSequencer implements Sequencer {
  readonly epochKeyed = true;
  private readonly rooms = new Map<string, Sequence>();
  private pending = new Map<string, RoomMessage[]>();
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  /** Cuts waiting for the next write (group commit), or null when none is waiting. */
  private unwritten: Cut[] | null = null;
  /** History writes owed to the store (PostgreSQL down), retried in order. */
  readonly backlog: HistoryBacklog;

  /** `backlogBytes`: `clusterHistoryBacklogBytes`, the bound of the writes kept for a retry. */
  constructor(
    store: Store,
    private readonly outbox: Outbox,
    private readonly workersOf: (roomid: string) => Iterable<WorkerLink>,
    private readonly context: ApplyContext,
    log: Logger,
    backlogBytes: number,
  ) {
    this.backlog = new HistoryBacklog(store, backlogBytes, log);
  }

  /**
   * Nothing to take from the store: the sequences are the log's, rebuilt by its replay, and
   * the store's history is every node's, so a starting node deletes none of it.
   */
  load(): void {}

  knownRooms(): string[] {
    return [...this.rooms.keys()];
  }

  /** Every room's sequence as [roomid, epoch, last seq given]: what a snapshot keeps (src/cluster/snapshot.ts). */
  sequences(): Array<[string, string, number]> {
    return [...this.rooms].map(([roomid, { epoch, last }]) => [roomid, epoch, last]);
  }

  /** Puts back what `sequences` gave (a snapshot's restore, before any entry is applied); nothing is written. */
  loadSequences(sequences: ReadonlyArray<readonly [string, string, number]>): void {
    this.rooms.clear();
    for (const [roomid, epoch, last] of sequences) this.rooms.set(roomid, { epoch, last });
  }

  add(_sender: SessionKey, roomid: string, identity: string, content: string, account: string | null, stamp?: MessageStamp, attachment?: Attachment): void {
    if (!stamp) throw new Error('a cluster room message needs the id and ts its proposer fixed');
    const sequence = this.sequence(roomid);
    const message: RoomMessage = { id: stamp.id, roomid, identity, sender: account, content, ts: stamp.ts, seq: ++sequence.last, recalled: false, epoch: sequence.epoch, attachment: attachment ?? null };
    const batch = this.pending.get(roomid);
    if (batch) batch.push(message);
    else this.pending.set(roomid, [message]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /**
   * Cuts the batch: recipients fixed now (the members as of the entry), delivery once written.
   * Group commit: while a write is under way, the cuts made meanwhile wait together and go to
   * the store in one transaction after it (each still delivered to its own recipients, in
   * order). One transaction per event-loop turn would cap a node at the store's commit rate
   * (each commit a disk flush) however fast the log is.
   */
  flush(): void {
    if (this.pending.size === 0) return;
    const cut: Cut = { slot: this.outbox.hold(), rooms: [...this.pending].map(([roomid, messages]) => ({ roomid, messages, workers: [...this.workersOf(roomid)], epoch: this.rooms.get(roomid)!.epoch })) };
    this.pending = new Map();
    if (this.unwritten) {
      this.unwritten.push(cut);
      return;
    }
    const cuts = [cut];
    this.unwritten = cuts;
    this.chain = this.chain.then(async () => {
      // From here on, new cuts start the next write, behind this one.
      if (this.unwritten === cuts) this.unwritten = null;
      // Never rejects: a failed write is kept for the retries; the message is delivered anyway.
      await this.backlog.write({ kind: 'append', messages: cuts.flatMap((c) => c.rooms.flatMap((r) => r.messages)) });
      for (const { slot, rooms } of cuts) {
        for (const { roomid, messages, workers, epoch } of rooms) {
          const frame = encodeToRoom(roomid, messages.map((m) => ({ sender: m.identity, line: Buffer.from(encodeRoomMessage(m, epoch)) })));
          for (const worker of workers) slot.add(worker, frame);
        }
        slot.release();
      }
    });
  }

  /**
   * A room is opened by the entry being applied: its epoch follows from that entry's seq. An
   * epoch it replaces (none, when the room was closed first) is over: deleted by its epoch.
   */
  openRoom(roomid: string): void {
    const before = this.rooms.get(roomid);
    const epoch = this.context.epochOf(roomid, this.context.seq);
    this.rooms.set(roomid, { epoch, last: 0 });
    if (before && before.epoch !== epoch) this.write(roomid, before.epoch);
  }

  /** The room is gone: its epoch's messages are deleted, by that epoch (never a newer one's). */
  closeRoom(roomid: string): void {
    const before = this.rooms.get(roomid);
    this.rooms.delete(roomid);
    if (before) this.write(roomid, before.epoch);
  }

  /** Once everything applied before is written: what is owed is written first, or this rejects with the store's error. */
  current(roomid: string): Promise<{ epoch: string; last: number }> {
    this.flush();
    const { epoch } = this.sequence(roomid);
    return this.chain.then(() => this.backlog.drain()).then(() => ({ epoch, last: this.rooms.get(roomid)?.last ?? 0 }));
  }

  settled(): Promise<void> {
    return this.chain;
  }

  /**
   * The room's sequence. Only MainHall (which never opens: it always exists) and rooms read
   * before any entry opened them here start one without `openRoom`: at position 0, the same
   * on every replica.
   */
  private sequence(roomid: string): Sequence {
    let sequence = this.rooms.get(roomid);
    if (!sequence) this.rooms.set(roomid, (sequence = { epoch: this.context.epochOf(roomid, 0), last: 0 }));
    return sequence;
  }

  /** An ended epoch's delete, in the order applied; a failure is kept for the retries (the replica's state goes on). */
  private write(roomid: string, epoch: string): void {
    // Cuts after this delete are written after it.
    this.unwritten = null;
    this.chain = this.chain.then(() => this.backlog.write({ kind: 'delete-epoch', roomid, epoch }));
  }
}
