import type { Logger } from 'pino';
import { isStoreError, type StoreErrorCode } from '../store/errors';
import type { RoomMessage, Store } from '../store/store';

/** One history write of a cluster node, in the order its replica applied it. */
export type HistoryStep =
  | { kind: 'append'; messages: RoomMessage[] }
  | { kind: 'delete-epoch'; roomid: string; epoch: string };

/** The first retry comes this long after a failure; each failed retry doubles it, up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 100;
/** How long PostgreSQL may be back before the backlog is written: a retry at least this often. */
const MAX_RETRY_MS = 2_000;
/** What a message costs in the backlog beyond its content and identity (id, room, epoch, fields). */
const MESSAGE_OVERHEAD_BYTES = 160;

/**
 * Failures a retry cannot mend: a different message under a stored key or id, a write naming
 * what does not exist, a bug. Such a step is dropped (logged) rather than blocking every
 * later write for good. Everything else (the server unreachable or failing, a lock timeout)
 * is retried.
 */
const PERMANENT = new Set<StoreErrorCode>(['STORE_CONFLICT', 'STORE_UNKNOWN_ACCOUNT', 'STORE_UNKNOWN_ROOM', 'STORE_FAILED']);

/**
 * A cluster node's room-history writes that could not be done (PostgreSQL down), kept in
 * order and retried with backoff until the store takes them, so that once PostgreSQL is back
 * every message the node delivered is in the table. The messages are committed in the
 * replicated log and were delivered: only their rows are owed. Retrying is safe because the
 * store's inserts are idempotent by (roomid, epoch, seq) and deleting an ended epoch is too;
 * keeping appends and deletes in one queue keeps their order (an ended epoch's rows are never
 * written back after its delete).
 *
 * Bounded by `maxBytes` (`clusterHistoryBacklogBytes`): this node refuses new room messages
 * while it is full (`full`), so a cluster whose store is down stops taking messages at the
 * bound rather than delivering what would never be stored. Messages committed before (by any
 * node) are still kept, up to twice the bound; past that (this node alone cannot reach the
 * store while the others go on) they are dropped and logged, their rows left to the other
 * nodes' writes.
 */
export class HistoryBacklog {
  private readonly steps: Array<{ step: HistoryStep; bytes: number }> = [];
  private bytes = 0;
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  /** True while writes are owed: a new one must queue behind them (order). */
  get pending(): boolean {
    return this.steps.length > 0;
  }

  /** True when no more messages fit: new room messages are refused before they are committed. */
  get full(): boolean {
    return this.bytes >= this.maxBytes;
  }

  /** Messages owed, for logs and tests. */
  get messages(): number {
    return this.steps.reduce((n, s) => n + (s.step.kind === 'append' ? s.step.messages.length : 0), 0);
  }

  /** Runs a step now when nothing is owed; otherwise, or when it fails, queues it for the retries. */
  async write(step: HistoryStep): Promise<void> {
    if (this.pending) return this.push(step);
    try {
      await run(this.store, step);
    } catch (err) {
      if (this.dropIfPermanent(err, step)) return;
      this.log.error({ err, ...describe(step) }, 'a room history write failed on this node; delivered from the log, kept and retried until the store takes it');
      this.push(step);
    }
  }

  /**
   * Writes everything owed now, in order (one attempt at a time: a caller during a retry
   * waits for it). Resolves once nothing is owed; rejects with the store's error otherwise.
   */
  drain(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    if (!this.draining) {
      this.draining = this.attempt().finally(() => {
        this.draining = null;
      });
    }
    return this.draining;
  }

  /** Stops the retries (a node stopping); what is owed stays owed (a node's replay rewrites it). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private push(step: HistoryStep): void {
    const bytes = sizeOf(step);
    if (step.kind === 'append' && this.bytes + bytes > 2 * this.maxBytes) {
      this.log.error({ ...describe(step), backlogBytes: this.bytes, maxBytes: this.maxBytes }, 'room history backlog full (clusterHistoryBacklogBytes): these rows are left to the other nodes\' writes');
      return;
    }
    this.steps.push({ step, bytes });
    this.bytes += bytes;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drain().catch(() => undefined);
    }, this.retryMs);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    const owed = this.messages;
    while (this.steps.length > 0) {
      const head = this.steps[0]!;
      try {
        await run(this.store, head.step);
      } catch (err) {
        if (!this.dropIfPermanent(err, head.step)) {
          this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
          this.schedule();
          throw err;
        }
      }
      this.steps.shift();
      this.bytes -= head.bytes;
    }
    this.retryMs = FIRST_RETRY_MS;
    this.log.info({ messages: owed }, 'room history backlog written: the store has every message this node delivered');
  }

  /** True (logged) when `err` is one a retry cannot mend: the step is given up. */
  private dropIfPermanent(err: unknown, step: HistoryStep): boolean {
    if (!isStoreError(err) || !PERMANENT.has(err.code)) return false;
    this.log.error({ err, ...describe(step) }, 'a room history write failed for good on this node; not retried');
    return true;
  }
}

function run(store: Store, step: HistoryStep): Promise<void> {
  return step.kind === 'append' ? store.appendRoomMessages(step.messages) : store.deleteEpochHistory(step.roomid, step.epoch);
}

function sizeOf(step: HistoryStep): number {
  if (step.kind === 'delete-epoch') return MESSAGE_OVERHEAD_BYTES;
  return step.messages.reduce((n, m) => n + Buffer.byteLength(m.content) + Buffer.byteLength(m.identity) + MESSAGE_OVERHEAD_BYTES, 0);
}

function describe(step: HistoryStep): object {
  return step.kind === 'append' ? { messages: step.messages.length } : { roomid: step.roomid, epoch: step.epoch };
}
