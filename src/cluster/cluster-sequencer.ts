import type { Logger } from 'pino';
import type { SessionKey } from '../core/effects';
import { encodeToRoom } from '../ipc/hub-link-messages';
import type { Outbox } from '../hub/outbox';
import { encodeRoomMessage, type MessageStamp, type Sequencer } from '../hub/room-sequencer';
import type { WorkerLink } from '../hub/worker-link';
import type { RoomMessage, Store } from '../store/store';
import type { ApplyContext } from './apply-context';

interface Sequence {
  epoch: string;
  /** Last seq given (at apply time, from log order). */
  last: number;
  /** The epoch is yet to be written to this node's store. */
  unsaved: boolean;
}

/**
 * Per-room order in a cluster. A message's seq is given when its log entry is applied: the
 * room's next, in log order, so it is the same on every replica whatever any store does. An
 * epoch is derived from the log position of the entry that opened the room (ApplyContext).
 *
 * Each node writes what it applies to its own store (its history for `history`/`resume`) and
 * delivers to its own sessions once the write is done. A write that fails does not hold the
 * message back: it is committed in the replicated log already, and every other replica
 * delivers it; this node's history lacks it (logged). The node's stored history is a copy of
 * the log's: `load` forgets what an earlier run stored, and the replay writes it again.
 */
export class ClusterSequencer implements Sequencer {
  private readonly rooms = new Map<string, Sequence>();
  private pending = new Map<string, RoomMessage[]>();
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly outbox: Outbox,
    private readonly workersOf: (roomid: string) => Iterable<WorkerLink>,
    private readonly context: ApplyContext,
    private readonly log: Logger,
  ) {}

  /** What an earlier run stored is dropped: the log's replay stores it again, seq for seq. */
  load(lastSeqs: Map<string, number>, epochs: Map<string, string>): void {
    for (const roomid of new Set([...lastSeqs.keys(), ...epochs.keys()])) this.write(() => this.store.deleteRoomHistory(roomid), roomid);
  }

  knownRooms(): string[] {
    return [...this.rooms.keys()];
  }

  add(_sender: SessionKey, roomid: string, identity: string, content: string, account: string | null, stamp?: MessageStamp): void {
    if (!stamp) throw new Error('a cluster room message needs the id and ts its proposer fixed');
    const sequence = this.sequence(roomid);
    const message: RoomMessage = { id: stamp.id, roomid, identity, sender: account, content, ts: stamp.ts, seq: ++sequence.last, recalled: false };
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

  /** Cuts the batch: recipients fixed now (the members as of the entry), delivery once written. */
  flush(): void {
    if (this.pending.size === 0) return;
    const slot = this.outbox.hold();
    const cut = [...this.pending].map(([roomid, messages]) => ({ roomid, messages, workers: [...this.workersOf(roomid)], epoch: this.rooms.get(roomid)!.epoch }));
    this.pending = new Map();
    this.chain = this.chain.then(async () => {
      try {
        for (const { roomid } of cut) await this.saveEpoch(roomid);
        await this.store.appendRoomMessages(cut.flatMap((c) => c.messages));
      } catch (err) {
        this.log.error({ err, messages: cut.reduce((n, c) => n + c.messages.length, 0) }, 'storing applied room messages failed; delivered from the log, missing from this node\'s history');
      }
      for (const { roomid, messages, workers, epoch } of cut) {
        const frame = encodeToRoom(roomid, messages.map((m) => ({ sender: m.identity, line: Buffer.from(encodeRoomMessage(m, epoch)) })));
        for (const worker of workers) slot.add(worker, frame);
      }
      slot.release();
    });
  }

  /** A room is opened by the entry being applied: its epoch follows from that entry's seq. */
  openRoom(roomid: string): void {
    this.rooms.set(roomid, { epoch: this.context.epochOf(roomid, this.context.seq), last: 0, unsaved: true });
    this.write(() => this.saveEpoch(roomid), roomid);
  }

  closeRoom(roomid: string): void {
    this.rooms.delete(roomid);
    this.write(() => this.store.deleteRoomHistory(roomid), roomid);
  }

  current(roomid: string): Promise<{ epoch: string; last: number }> {
    this.flush();
    const { epoch } = this.sequence(roomid);
    return this.chain.then(() => ({ epoch, last: this.rooms.get(roomid)?.last ?? 0 }));
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
    if (!sequence) this.rooms.set(roomid, (sequence = { epoch: this.context.epochOf(roomid, 0), last: 0, unsaved: true }));
    return sequence;
  }

  private async saveEpoch(roomid: string): Promise<void> {
    const sequence = this.rooms.get(roomid);
    if (!sequence?.unsaved) return;
    await this.store.setRoomEpoch(roomid, sequence.epoch, true);
    sequence.unsaved = false;
  }

  /** A store step in the order applied; a failure is logged (the replica's state goes on). */
  private write(step: () => Promise<void>, roomid: string): void {
    this.chain = this.chain.then(step).catch((err: Error) => this.log.error({ err, roomid }, 'storing a room\'s history change failed on this node'));
  }
}
