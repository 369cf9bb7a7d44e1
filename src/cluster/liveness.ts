import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { ClusterLog } from './cluster-log';

/** The key-value bucket of heartbeats: one key per live node, gone `ttl` after its last refresh. */
export const NODES_BUCKET = 'SWITCHBOARD_NODES';

/**
 * Heartbeats in a JetStream key-value bucket whose entries expire after `nodeTimeoutMs` (the
 * bucket's max age: NATS 2.9 has no per-message TTL). A node refreshes its key every
 * `clusterHeartbeatMs`; a node whose key has expired is gone. The bucket is replicated like
 * the log, so the loss of one NATS server does not lose the heartbeats.
 */
export class Liveness {
  /** When a heartbeat or a listing of this node last failed (ms since the epoch; 0: never). */
  private lastFailure = 0;

  private constructor(
    private readonly kv: KV,
    private readonly nodeId: string,
    private readonly nodeTimeoutMs: number,
  ) {}

  /** Opens the bucket, making it on first use (`replicas` as the log's). */
  static async open(log: ClusterLog, nodeId: string, nodeTimeoutMs: number, replicas: number): Promise<Liveness> {
    const kv = await new Kvm(jetstream(log.nc)).create(NODES_BUCKET, { ttl: nodeTimeoutMs, history: 1, replicas });
    return new Liveness(kv, nodeId, nodeTimeoutMs);
  }

  /** Refreshes this node's key (its value: when, for whoever inspects the bucket). */
  async beat(now: number): Promise<void> {
    await this.noting(this.kv.put(this.nodeId, JSON.stringify({ at: now })));
  }

  /** The nodes whose key has not expired. */
  async liveNodes(): Promise<Set<string>> {
    const live = new Set<string>();
    await this.noting(
      (async () => {
        for await (const key of await this.kv.keys()) live.add(key);
      })(),
    );
    return live;
  }

  /**
   * Whether `node`'s key is there now, read directly. A listing (`liveNodes`) can miss a key
   * that is being refreshed at that moment (its old value purged, the new one not yet seen by
   * the listing), so a node missing from a listing is read once more before it is called gone.
   */
  async isLive(node: string): Promise<boolean> {
    const entry = await this.noting(this.kv.get(node));
    return entry !== null && entry.operation === 'PUT';
  }

  /**
   * Whether a missing key may be taken to mean a gone node: not within `nodeTimeoutMs` of a
   * failure of this node's own heartbeat or listing. Such a failure is mostly JetStream's (a
   * NATS server lost, a leader being elected), and then every node's heartbeats failed alike:
   * their keys may have lapsed while they were alive (measured: a live node declared gone,
   * its clients closed, on the loss of one NATS server of three). Each gets one node timeout
   * to refresh its key first.
   */
  sure(now: number): boolean {
    return now - this.lastFailure >= this.nodeTimeoutMs;
  }

  private async noting<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      this.lastFailure = Date.now();
      throw err;
    }
  }
}
