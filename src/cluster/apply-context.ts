import { createHash } from 'node:crypto';

/**
 * Where a replica is in the log while it applies an entry: the entry's stream seq and its
 * proposer's `ts`. ChatState's clock and the cluster sequencer's epochs read this, never the
 * local clock or randomness, so every replica decides the same.
 */
export class ApplyContext {
  /** Stream seq of the entry being applied (0 before the first). */
  seq = 0;
  /** The entry's `ts` (ms since the epoch): the replica's "now" while applying it. */
  ts = 0;
  /** When the log's stream was made (the same on every node; new if the stream is ever remade). */
  streamCreated = '';

  /** The clock ChatState decides by (ban expiries, held names). */
  readonly now = (): number => this.ts;

  /**
   * The epoch of `roomid` when its sequence starts at log position `seq`: 16 hex digits of
   * SHA-256 over the stream's creation time, the room and the seq. The same on every replica;
   * different for every (re)opening of a room, and for a remade stream, so a client never sees
   * one epoch name two histories (docs/PROTOCOL.md, "Epochs").
   */
  epochOf(roomid: string, seq: number): string {
    return createHash('sha256').update(`${this.streamCreated}\n${roomid}\n${seq}`).digest('hex').slice(0, 16);
  }
}
