import type { Logger } from 'pino';
import { decodeSnapshot, encodeSnapshot, type ClusterSnapshot } from './snapshot';
import type { SnapshotStore } from './snapshot-store';

/** When a node takes snapshots, and how many are kept (`clusterSnapshot*` settings). */
export interface SnapshotPolicy {
  /** A snapshot at every log seq that is a multiple of this (`clusterSnapshotEvery`). */
  every: number;
  /** And one after this long if entries were applied since the last (`clusterSnapshotIntervalMs`). */
  intervalMs: number;
  /** Snapshots kept; older ones are removed (`clusterSnapshotKeep`). */
  keep: number;
}

/**
 * Takes this node's snapshots and uploads them. Taking one (`take`) is synchronous and happens
 * between two entries, the only place the state is one of the log's positions; the upload is
 * asynchronous, one at a time: a snapshot due while one is uploading waits, and a newer one
 * replaces it (so at most two serialized states are held). All nodes take one at the same
 * seqs (multiples of `every`) with the same content, so they race for one name harmlessly
 * (SnapshotStore.write skips a stored one). A failed upload is logged; the next one is taken
 * as planned.
 */
export class Snapshotter {
  /** Seq of the newest snapshot this node took or started from. */
  private lastSeq: number;
  private uploading = false;
  private next: { seq: number; data: Uint8Array } | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: SnapshotStore,
    private readonly take: () => ClusterSnapshot,
    private readonly policy: SnapshotPolicy,
    private readonly log: Logger,
    startSeq: number,
  ) {
    this.lastSeq = startSeq;
    this.timer = setInterval(() => this.capture(), policy.intervalMs);
    this.timer.unref();
  }

  /** An entry at `seq` was applied (called between entries): a snapshot when `seq` is due. */
  applied(seq: number): void {
    if (seq % this.policy.every === 0) this.capture();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private capture(): void {
    const snapshot = this.take();
    if (snapshot.seq <= this.lastSeq) return;
    this.lastSeq = snapshot.seq;
    this.next = { seq: snapshot.seq, data: encodeSnapshot(snapshot) };
    void this.upload();
  }

  private async upload(): Promise<void> {
    if (this.uploading) return;
    this.uploading = true;
    try {
      while (this.next) {
        const { seq, data } = this.next;
        this.next = null;
        try {
          if (await this.store.write(seq, data)) {
            this.log.info({ seq, bytes: data.length }, 'cluster snapshot stored');
            await this.store.prune(this.policy.keep);
          }
        } catch (err) {
          this.log.warn({ err, seq }, 'storing a cluster snapshot failed; the next one is taken as planned');
        }
      }
    } finally {
      this.uploading = false;
    }
  }
}

/**
 * The newest snapshot a node can start from when the log keeps entries `first`..`last`: one
 * at a seq >= first - 1, so that reading on from its seq + 1 misses nothing. Snapshots that
 * cannot be read or do not pass the schema check are skipped (told to `log`), older ones
 * tried. Null when none fits.
 */
export async function newestUsableSnapshot(store: SnapshotStore, first: number, log: Logger): Promise<ClusterSnapshot | null> {
  for (const seq of await store.seqs()) {
    if (seq + 1 < first) break;
    try {
      const snapshot = decodeSnapshot(await store.read(seq));
      if (snapshot.seq !== seq) throw new Error(`it says it is at seq ${snapshot.seq}`);
      return snapshot;
    } catch (err) {
      log.warn({ err, seq }, 'a cluster snapshot cannot be used; trying an older one');
    }
  }
  return null;
}
