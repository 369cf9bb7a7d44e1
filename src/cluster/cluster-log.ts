import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { decodeEntry, encodeEntry, type LogEntry } from './entries';

type NatsConnection = Awaited<ReturnType<typeof connect>>;

/** JetStream durations are nanoseconds. */
const nanos = (ms: number): number => ms * 1_000_000;

/** The stream every node appends to and reads from. */
export const LOG_STREAM = 'SWITCHBOARD_LOG';
/** Its subjects; entries are published on `sb.log.<type>`. */
const LOG_SUBJECTS = 'sb.log.>';
/** How long JetStream remembers a proposal's id to drop a retried publish of it. */
const DUPLICATE_WINDOW_MS = 120_000;
/** Pause between attempts of a publish that failed (a NATS server or the stream leader moving). */
const RETRY_PAUSE_MS = 250;

export interface ClusterLogOptions {
  /** `nats://H:P` URLs (parseClusterServers). */
  servers: string[];
  /** Bound on reaching NATS and JetStream at start (`clusterConnectTimeoutMs`). */
  connectTimeoutMs: number;
  /** Bound on one proposal, retries included (`clusterProposeTimeoutMs`). */
  proposeTimeoutMs: number;
  /** Stream limits (`clusterLogMaxMessages`, `clusterLogMaxAgeMs`). */
  maxMessages: number;
  maxAgeMs: number;
}

/** What a replica learns of the stream when it starts. */
export interface LogPosition {
  /** Stream seq of the oldest entry kept (0 or 1 when nothing was ever discarded). */
  first: number;
  /** Stream seq of the newest entry (0 when empty). */
  last: number;
  /** When the stream was made (ISO 8601): the same on every node, new if it is ever remade. */
  created: string;
}

/** The cluster log could not be reached or did not commit a proposal in time. */
export class ClusterUnavailable extends Error {}

/**
 * The replicated log of a Switchboard cluster: one JetStream stream, file storage, replicas
 * min(3, servers given), bounded by entries and age (discard old). A proposal is committed
 * when the stream's RAFT group has it (the publish ack); readers see only committed entries,
 * in stream order. No consensus of our own: JetStream orders and replicates.
 */
export class ClusterLog {
  private reading: ConsumerMessages | null = null;
  private proposals = 0;
  /** Distinguishes this run's proposal ids from an earlier run's under the same node id. */
  private readonly run = randomBytes(4).toString('hex');

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly nodeId: string,
    private readonly proposeTimeoutMs: number,
  ) {}

  /**
   * Connects (bounded by `connectTimeoutMs`), checks JetStream answers, and makes the stream
   * if no node has yet (same config from every node: JetStream accepts the identical add).
   * Rejects with ClusterUnavailable saying what could not be reached.
   */
  static async open(nodeId: string, opts: ClusterLogOptions): Promise<ClusterLog> {
    const nc = await connectBounded(opts.servers, opts.connectTimeoutMs);
    try {
      const jsm = await withDeadline(jetstreamManager(nc, { timeout: opts.connectTimeoutMs }), opts.connectTimeoutMs, 'JetStream did not answer');
      const config = {
        name: LOG_STREAM,
        subjects: [LOG_SUBJECTS],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        num_replicas: Math.min(3, opts.servers.length),
        max_msgs: opts.maxMessages,
        max_age: nanos(opts.maxAgeMs),
        duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, opts.maxAgeMs)),
      };
      await withDeadline(ensureStream(jsm, config), opts.connectTimeoutMs, `the stream ${LOG_STREAM} could not be made or found`);
      return new ClusterLog(nc, jetstream(nc, { timeout: opts.proposeTimeoutMs }), jsm, nodeId, opts.proposeTimeoutMs);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err instanceof ClusterUnavailable ? err : new ClusterUnavailable(`JetStream: ${(err as Error).message}`);
    }
  }

  /** Where the stream is now (a starting replica replays up to `last`). */
  async position(): Promise<LogPosition> {
    const info = await this.jsm.streams.info(LOG_STREAM);
    return { first: info.state.first_seq, last: info.state.last_seq, created: info.created };
  }

  /**
   * A proposal id unique across nodes and runs: `<nodeId>.<run>.<n>` (`run` random per run,
   * so a node restarted under a fixed --node-id within the duplicate window is not mistaken
   * for a retry of its former self).
   */
  newProposalId(): string {
    return `${this.nodeId}.${this.run}.${++this.proposals}`;
  }

  /**
   * Appends `entry` and resolves with its stream seq once committed. A failed publish is
   * retried with the same message id until `proposeTimeoutMs`: JetStream drops a duplicate
   * within its window, so the entry is applied once however many attempts got through.
   * Rejects with ClusterUnavailable when no attempt was acknowledged in time.
   */
  async propose(entry: LogEntry): Promise<number> {
    const deadline = Date.now() + this.proposeTimeoutMs;
    const data = encodeEntry(entry);
    let last: Error | undefined;
    while (Date.now() < deadline) {
      try {
        const ack = await this.js.publish(`sb.log.${entry.type}`, data, { msgID: entry.pid, timeout: Math.max(100, deadline - Date.now()) });
        return ack.seq;
      } catch (err) {
        last = err as Error;
        if (this.nc.isClosed()) break;
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
    throw new ClusterUnavailable(`the cluster log did not commit the entry within ${this.proposeTimeoutMs} ms${last ? `: ${last.message}` : ''}`);
  }

  /**
   * Reads the log from stream seq `from` on, in order, for as long as the log is open: each
   * entry goes to `apply` with its seq; one that does not decode goes to `skip` (it is never
   * applied, and never stops the reading). An ordered consumer: after a lost connection it
   * resumes after the last seq it delivered, so nothing is skipped or applied twice.
   */
  async read(from: number, apply: (entry: LogEntry, seq: number) => void, skip: (err: Error, seq: number) => void): Promise<void> {
    const consumer: Consumer = await this.js.consumers.get(LOG_STREAM, { opt_start_seq: Math.max(1, from) });
    const messages = await consumer.consume();
    this.reading = messages;
    for await (const m of messages) {
      let entry: LogEntry;
      try {
        entry = decodeEntry(m.data);
      } catch (err) {
        skip(err as Error, m.seq);
        continue;
      }
      apply(entry, m.seq);
    }
  }

  /** Stops reading and closes the connection (pending publishes fail). */
  async close(): Promise<void> {
    this.reading?.stop();
    await this.nc.close();
  }
}

async function ensureStream(jsm: JetStreamManager, config: Parameters<JetStreamManager['streams']['add']>[0]): Promise<void> {
  try {
    await jsm.streams.info(LOG_STREAM);
    return;
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  try {
    await jsm.streams.add(config);
  } catch (err) {
    // Another node made it between our info and add.
    if (!/already in use/i.test((err as Error).message)) throw err;
  }
}

/**
 * Connects to one of `servers`, giving up after `timeoutMs`. Once connected the client
 * reconnects by itself, without limit: a node outlives a NATS server's restart.
 */
export async function connectBounded(servers: string[], timeoutMs: number): Promise<NatsConnection> {
  try {
    return await withDeadline(connect({ servers, timeout: timeoutMs, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'switchboard' }), timeoutMs, 'no answer');
  } catch (err) {
    throw new ClusterUnavailable(`cannot reach the cluster's NATS servers (${servers.join(',')}) within ${timeoutMs} ms: ${(err as Error).message}`);
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ClusterUnavailable(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
