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
/**
 * Bound on one publish attempt. A publish in flight when the stream's leader dies is never
 * acknowledged: without this bound it would wait out the whole propose timeout before its
 * retry (measured: a 6 s pause of the stream on the loss of one NATS server of three). A retry
 * carries the same msg id, so an attempt cut short that did get through is not applied twice.
 */
const PUBLISH_ATTEMPT_MS = 2000;
/**
 * The log reader's consumer heartbeat: the NATS server holding the consumer sends one after
 * this much idleness within a pull (pulls expire after twice this and are renewed).
 */
const IDLE_HEARTBEAT_MS = 1000;
/**
 * Silence (no entry, no heartbeat, no expired pull) after which the reader's consumer is taken
 * as lost and made again from the next seq. The client library's ordered consumer does not
 * recover by itself when the NATS server holding it dies while this node is connected to that
 * server (measured with @nats-io/jetstream 3.4.0 and nats-server 2.9: it stays silent, past a
 * minute); this watch, and remaking it after every reconnection, does.
 */
const READER_STALL_MS = 4 * IDLE_HEARTBEAT_MS;
/**
 * Bound on making the reader's consumer (a JetStream API request). While JetStream elects a
 * leader after a server's loss, such requests go unanswered: better retried every few seconds
 * than waited on for the whole propose timeout (measured: a 10 s stall of a node's reader).
 */
const READER_REQUEST_MS = 2000;

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
  private closing = false;
  private proposals = 0;
  /** The reader's JetStream client: its API requests bounded by READER_REQUEST_MS. */
  private readonly readerJs: JetStreamClient;
  /** Told when the reader's consumer is made again, and why (for the node's log). */
  onReaderTrouble: ((err: Error, nextSeq: number) => void) | null = null;
  /** Distinguishes this run's proposal ids from an earlier run's under the same node id. */
  private readonly run = randomBytes(4).toString('hex');

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly nodeId: string,
    private readonly proposeTimeoutMs: number,
  ) {
    this.readerJs = jetstream(nc, { timeout: READER_REQUEST_MS });
  }

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
      await withDeadline(ensureStream(jsm, config, Date.now() + opts.connectTimeoutMs), opts.connectTimeoutMs, `the stream ${LOG_STREAM} could not be made or found`);
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
   * Appends `entry` and resolves with its stream seq once committed. A failed publish (or one
   * unanswered after PUBLISH_ATTEMPT_MS) is retried with the same message id until
   * `proposeTimeoutMs`: JetStream drops a duplicate within its window, so the entry is applied
   * once however many attempts got through.
   * Rejects with ClusterUnavailable when no attempt was acknowledged in time.
   */
  async propose(entry: LogEntry): Promise<number> {
    const deadline = Date.now() + this.proposeTimeoutMs;
    const data = encodeEntry(entry);
    let last: Error | undefined;
    while (Date.now() < deadline) {
      try {
        const ack = await this.js.publish(`sb.log.${entry.type}`, data, { msgID: entry.pid, timeout: Math.max(100, Math.min(PUBLISH_ATTEMPT_MS, deadline - Date.now())) });
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
   * applied, and never stops the reading). An ordered consumer (an ephemeral one, on one NATS
   * server), made again from the seq after the last one delivered whenever it may be lost:
   * after this node's connection to NATS was re-established, and after READER_STALL_MS of
   * silence. So nothing is skipped or delivered twice; a replica applies a seq once anyway.
   */
  async read(from: number, apply: (entry: LogEntry, seq: number) => void, skip: (err: Error, seq: number) => void): Promise<void> {
    let next = Math.max(1, from);
    let reconnected = false;
    void (async () => {
      for await (const s of this.nc.status()) if (s.type === 'reconnect') reconnected = true;
    })();
    while (!this.closing) {
      let consumer: Consumer;
      let messages: ConsumerMessages;
      try {
        consumer = await this.readerJs.consumers.get(LOG_STREAM, { opt_start_seq: next });
        messages = await consumer.consume({ idle_heartbeat: IDLE_HEARTBEAT_MS, expires: 2 * IDLE_HEARTBEAT_MS });
      } catch (err) {
        // JetStream is electing a leader, or this node is between NATS servers: again shortly.
        if (this.closing || this.nc.isClosed()) break;
        this.onReaderTrouble?.(err as Error, next);
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
        continue;
      }
      this.reading = messages;
      reconnected = false;
      let heard = Date.now();
      void (async () => {
        for await (const s of messages.status()) if (s.type === 'heartbeat' || s.type === 'discard') heard = Date.now();
      })();
      const watch = setInterval(() => {
        if (!reconnected && Date.now() - heard < READER_STALL_MS) return;
        this.onReaderTrouble?.(new Error(reconnected ? 'reconnected to NATS' : `no word from the log's consumer for ${Date.now() - heard} ms`), next);
        messages.stop();
      }, IDLE_HEARTBEAT_MS);
      try {
        for await (const m of messages) {
          heard = Date.now();
          next = m.seq + 1;
          let entry: LogEntry;
          try {
            entry = decodeEntry(m.data);
          } catch (err) {
            skip(err as Error, m.seq);
            continue;
          }
          apply(entry, m.seq);
        }
      } finally {
        clearInterval(watch);
      }
      // A consumer left behind on a live server would linger until its inactivity threshold.
      void consumer.delete().catch(() => undefined);
    }
  }

  /** Stops reading and closes the connection (pending publishes fail). */
  async close(): Promise<void> {
    this.closing = true;
    this.reading?.stop();
    await this.nc.close();
  }
}

/**
 * While a NATS cluster is still forming, JetStream can have a meta leader but not yet know
 * every peer, and refuses a replicated stream with "no suitable peers for placement"
 * (JSStreamCreateNoPeers, err_code 10005). A node starting beside its NATS servers (a fresh
 * deployment, a reboot of the whole site) retries that until `deadline` instead of exiting.
 */
const PEERS_FORMING = /no suitable peers/i;
const PEERS_RETRY_MS = 250;

async function ensureStream(jsm: JetStreamManager, config: Parameters<JetStreamManager['streams']['add']>[0], deadline: number): Promise<void> {
  for (;;) {
    try {
      return await findOrMakeStream(jsm, config);
    } catch (err) {
      if (!PEERS_FORMING.test((err as Error).message) || Date.now() + PEERS_RETRY_MS >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, PEERS_RETRY_MS));
    }
  }
}

async function findOrMakeStream(jsm: JetStreamManager, config: Parameters<JetStreamManager['streams']['add']>[0]): Promise<void> {
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

/** `p`, or a ClusterUnavailable rejection (`<what> within <ms> ms`) if it has not settled by then. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ClusterUnavailable(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
