import type { Logger } from 'pino';
import type { SessionKey } from '../core/effects';
import { newMessageId } from '../hub/message-ids';
import type { OrderSource, RestoredOnLink } from '../hub/order-source';
import { RequestRefused, type HubContext } from '../hub/services';
import type { WorkerLink } from '../hub/worker-link';
import { ErrorCode } from '../protocol/errors';
import type { Attachment, CoreControlRequest } from '../protocol/messages';
import { isValidIdentity } from '../protocol/rules';
import type { ApplyContext } from './apply-context';
import type { ClusterLog } from './cluster-log';
import type { Outcome } from '../hub/outcomes';
import { MAX_USERNAMES_PER_ENTRY, nodeOfKey, type LogEntry, type ReplicatedRequest } from './entries';
import type { Liveness } from './liveness';
import { Replica } from './replica';
import { restoreSnapshot, takeSnapshot } from './snapshot';
import type { SnapshotStore } from './snapshot-store';
import { newestUsableSnapshot, Snapshotter, type SnapshotPolicy } from './snapshotter';

/**
 * Requests a cluster node serves: every request type of today's protocol. A type added later
 * is refused with CLUSTER_UNSUPPORTED until it is listed here, i.e. until what it changes is
 * replicated. Account-level requests do their store work on this node and propose their
 * outcome (src/hub/outcomes.ts); store-only ones (dmhistory, contacts, search, blocklist) and
 * reads (presence, roominfo) need no entry; block, dnd, status, ack and away propose one so the
 * account's devices and contacts on other nodes are told.
 */
const SERVED = new Set([
  ...['identitychange', 'join', 'who', 'list', 'createroom', 'delete', 'quit', 'history', 'resume'],
  ...['register', 'login', 'logout', 'dm', 'ack', 'dmhistory', 'recall', 'block', 'unblock', 'dnd', 'status', 'presence'],
  ...['private', 'invite', 'uninvite', 'kick', 'ban', 'unban', 'roominfo', 'transfer', 'disconnect', 'notice'],
  ...['session', 'reclaim'],
  // Devices, contacts and presence: contacts and search are store work, away an outcome.
  ...['contacts', 'search', 'away'],
  // The block list, read from the store (no entry: it changes nothing).
  'blocklist',
  // A room message with an attachment comes as a request (its chat entry carries the file's record).
  'message',
]);

/** Null when a cluster node serves requests of `type`; otherwise why not (told with CLUSTER_UNSUPPORTED). */
export function clusterRefusal(type: string): string | null {
  return SERVED.has(type) ? null : `${type} is not available on a clustered server yet (docs/CLUSTER.md lists what is)`;
}

/** Entries as proposed, before the proposer stamps them with `pid` and `ts`. */
type Proposal = LogEntry extends infer E ? (E extends LogEntry ? Omit<E, 'pid' | 'ts'> : never) : never;

export interface ClusterOrderOptions {
  nodeId: string;
  /** `clusterProposeTimeoutMs`: also how long a committed entry may take to come back. */
  proposeTimeoutMs: number;
  /** `clusterHeartbeatMs`. */
  heartbeatMs: number;
  /** `clusterNodeTimeoutMs`: a node-gone proposal for a node is not repeated within this. */
  nodeTimeoutMs: number;
  /**
   * True while this node owes the store so much room history (PostgreSQL down) that it keeps
   * no more (`clusterHistoryBacklogBytes`): room messages are refused before they are committed.
   */
  historyFull(): boolean;
  /** The log can no longer be read: this replica cannot go on (the hub exits; it is restarted). */
  onFatal(err: Error): void;
  /** When snapshots are taken and how many kept (src/cluster/snapshotter.ts). */
  snapshots: SnapshotPolicy;
  /** The snapshot store of the log's stream made at `streamCreated`. */
  openSnapshots(streamCreated: string): Promise<SnapshotStore>;
}

/**
 * The hub of a cluster node as a replicated state machine. Every state-changing request this
 * node receives is proposed to the log with everything a replica needs to decide it (the
 * message id and time fixed here); every node applies the log in order to its own ChatState
 * and delivers only to its own sessions (the router drops effects addressed to other nodes'
 * sessions: their node delivers them). Read-only requests are answered from this replica.
 */
export class ClusterOrder implements OrderSource {
  /** Proposals of this node waiting to come back from the log, by pid. */
  private readonly waiting = new Map<string, () => void>();
  /** The stream seq of the last room message each local session had committed (see caughtUp). */
  private readonly committed = new Map<SessionKey, number>();
  private readonly replica: Replica;
  private readonly seqWaiters: Array<{ seq: number; resolve: () => void }> = [];
  /** Nodes this node proposed gone, and when: not proposed again within nodeTimeoutMs. */
  private readonly goneProposed = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  /** The stream seq of the last entry read past without applying it (it did not decode). */
  private skippedSeq = 0;
  private snapshotter: Snapshotter | null = null;
  /** The stream seq the log's reader is to give next: a later one means entries were discarded unread. */
  private nextRead = 1;

  constructor(
    private readonly ctx: HubContext,
    private readonly clusterLog: ClusterLog,
    private readonly liveness: Liveness,
    private readonly context: ApplyContext,
    private readonly opts: ClusterOrderOptions,
    private readonly log: Logger,
  ) {
    this.replica = new Replica(ctx.router, context, opts.nodeId, log);
  }

  /**
   * Restores the newest usable snapshot (one at a seq >= the log's first - 1) and replays the
   * log from the entry after it to its last; without one, replays from seq 1, which needs a
   * log that has discarded nothing (the state is the log's: nothing is loaded from the store).
   * Then announces this node (`node-start`, which drops sessions an earlier run under this
   * node id left), starts the heartbeat and the snapshots. Refuses to start (rejects, saying
   * why) when the log has discarded entries and no snapshot covers them.
   */
  async load(): Promise<void> {
    const position = await this.clusterLog.position();
    this.context.streamCreated = position.created;
    const snapshots = await this.opts.openSnapshots(position.created);
    const snapshot = await newestUsableSnapshot(snapshots, position.first, this.log);
    if (snapshot) {
      restoreSnapshot(snapshot, this.ctx.router, this.context, this.replica);
      this.log.info({ seq: snapshot.seq, sessions: snapshot.chat.sessions.length, rooms: snapshot.chat.rooms.length }, 'cluster snapshot restored');
    } else if (position.first > 1) {
      throw new Error(noSnapshotReason(position.first));
    }
    this.nextRead = this.replica.appliedSeq + 1;
    const { store, router } = this.ctx;
    router.sequencer.load(await store.lastRoomSeqs(), await store.roomEpochs());
    await this.liveness.beat(Date.now());
    this.snapshotter = new Snapshotter(snapshots, () => takeSnapshot(router, this.context, this.replica), this.opts.snapshots, this.log, this.replica.appliedSeq);
    this.clusterLog
      .read(this.nextRead, (entry, seq) => this.apply(entry, seq), (err, seq) => this.skip(err, seq))
      .then(
        () => this.log.info('cluster log reading stopped'),
        (err: Error) => this.opts.onFatal(err),
      );
    await this.appliedUpTo(position.last);
    this.log.info({ replayed: position.last, from: snapshot ? snapshot.seq + 1 : 1, streamCreated: position.created }, 'cluster log replayed');
    await this.reserveStoredAccounts();
    await this.submit({ type: 'node-start', node: this.opts.nodeId });
    this.timer = setInterval(() => void this.tick(), this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** Stream seq of the last log entry this replica applied (metrics: the log lag). */
  get appliedSeq(): number {
    return this.replica.appliedSeq;
  }

  open(link: WorkerLink, id: number, address: string): Promise<void> {
    const key = this.ctx.router.register(link, id, address);
    return this.submit({ type: 'connect', key }).catch((err: Error) => {
      // Not in the chat, and never will be: told why, then closed (the client reconnects).
      this.ctx.router.sendTo(key, { type: 'error', code: ErrorCode.CLUSTER_UNAVAILABLE, message: err.message });
      this.ctx.router.end(key);
    });
  }

  close(link: WorkerLink, id: number): Promise<void> | void {
    if (!link.sessions.has(id)) return;
    return this.leave(link.keyOf(id));
  }

  /**
   * A room message is done for its session once committed: its delivery (to the sender too)
   * comes when the entry is applied, so the session's next message need not wait a whole log
   * round trip. Proposals of one session still go one after another, so the log keeps the
   * order the client sent them in (a retry after a lost ack cannot overtake a later one).
   */
  async chat(key: SessionKey, content: string, attachment?: Attachment): Promise<void> {
    if (!this.ctx.router.state.has(key)) return;
    // A message committed now could be delivered but never stored: refused while the
    // history owed to the store is at its bound (it drains once PostgreSQL is back).
    if (this.opts.historyFull()) {
      throw new RequestRefused(ErrorCode.STORE_UNREACHABLE, 'room history cannot be stored right now (the store is unreachable and this node keeps no more for later); message not sent, send it again later');
    }
    const seq = await this.commit(attachment ? { type: 'chat', key, id: newMessageId(), content, attachment } : { type: 'chat', key, id: newMessageId(), content });
    if (seq > (this.committed.get(key) ?? 0)) this.committed.set(key, seq);
  }

  caughtUp(key: SessionKey): Promise<void> | undefined {
    const seq = this.committed.get(key);
    if (seq === undefined || this.replica.appliedSeq >= seq) return undefined;
    return this.appliedUpTo(seq);
  }

  core(key: SessionKey, request: CoreControlRequest): Promise<void> | void {
    if (request.type === 'who' || request.type === 'list') {
      return this.readBarrier().then(() => {
        if (this.ctx.router.state.has(key)) this.ctx.router.request(key, request);
      });
    }
    return this.submit({ type: 'request', key, request: replicated(request) });
  }

  /**
   * Resolves once this replica has applied every entry the log had committed when the read
   * came in (the stream's last seq, one JetStream request), so a `who` or `list` on any node
   * shows every change committed before it, whichever node took it: what one server shows. When
   * the log does not answer within `clusterHeartbeatMs` (NATS down, a leader election), it
   * resolves anyway: the read is answered from this replica as it is (docs/CLUSTER.md, "The core protocol on a cluster").
   */
  private readBarrier(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.opts.heartbeatMs)));
    const caught = this.clusterLog.position().then(
      (position) => this.appliedUpTo(position.last),
      (err: Error) => this.log.debug({ err }, 'read barrier: the log did not answer; read from this replica as it is'),
    );
    return Promise.race([caught, late]).finally(() => clearTimeout(timer));
  }

  decide(key: SessionKey, outcome: Outcome): Promise<void> {
    return this.submit({ type: 'outcome', key, outcome });
  }

  linkClosed(link: WorkerLink): void {
    const keys = [...link.sessions].map((id) => link.keyOf(id));
    this.ctx.router.detach(link);
    for (const key of keys) void this.leave(key);
  }

  /** A restarted hub of a cluster node cannot take its workers' sessions back: they are closed. */
  restore(sessions: RestoredOnLink[]): void {
    for (const s of sessions) this.ctx.router.end(s.key);
  }

  refusal(type: string): string | null {
    return clusterRefusal(type);
  }

  /** Stops the heartbeat (the node's key then expires: the others see it gone) and the log. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.snapshotter?.stop();
    await this.clusterLog.close();
  }

  /**
   * Accounts of the shared store that the log never registered (made before the cluster, or
   * before the log was remade) are reserved by an entry, so every replica reserves them at the
   * same place in the log; names the replay reserved already are not proposed again.
   */
  private async reserveStoredAccounts(): Promise<void> {
    // A name that is no valid identity could not be taken by a guest anyway (and no entry carries it).
    const missing = (await this.ctx.store.listUsernames()).filter((u) => isValidIdentity(u) && !this.ctx.router.state.isReserved(u));
    for (let i = 0; i < missing.length; i += MAX_USERNAMES_PER_ENTRY) {
      await this.submit({ type: 'accounts', usernames: missing.slice(i, i + MAX_USERNAMES_PER_ENTRY) });
    }
    if (missing.length > 0) this.log.info({ accounts: missing.length }, 'stored accounts the cluster log did not know reserved');
  }

  /** A connection's end, proposed; one that cannot be committed is logged (the session stays until its node is declared gone). */
  private leave(key: SessionKey): Promise<void> {
    this.committed.delete(key);
    return this.submit({ type: 'disconnect', key }).catch((err: Error) => this.log.error({ err, key }, 'a disconnect could not be committed to the cluster log'));
  }

  /**
   * Proposes an entry and resolves once this replica has applied it. Rejects with
   * CLUSTER_UNAVAILABLE when the log does not commit it in time. A committed entry that is
   * slow to come back resolves after proposeTimeoutMs anyway (logged): the session's later
   * requests must not wait forever; they are proposed behind it and so applied after it.
   */
  private async submit(proposal: Proposal): Promise<void> {
    const entry = { ...proposal, pid: this.clusterLog.newProposalId(), ts: Date.now() } as LogEntry;
    const applied = new Promise<void>((resolve) => this.waiting.set(entry.pid, resolve));
    try {
      await this.propose(entry);
    } catch (err) {
      this.waiting.delete(entry.pid);
      throw err;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn({ pid: entry.pid, type: entry.type }, 'a committed cluster log entry has not come back in time');
        resolve();
      }, this.opts.proposeTimeoutMs);
    });
    await Promise.race([applied, late]);
    clearTimeout(timer);
  }

  /** Proposes an entry and resolves with its stream seq once committed, without waiting for it to be applied. */
  private commit(proposal: Proposal): Promise<number> {
    return this.propose({ ...proposal, pid: this.clusterLog.newProposalId(), ts: Date.now() } as LogEntry);
  }

  private async propose(entry: LogEntry): Promise<number> {
    try {
      return await this.clusterLog.propose(entry);
    } catch (err) {
      throw new RequestRefused(ErrorCode.CLUSTER_UNAVAILABLE, `${(err as Error).message}; it may or may not take effect, check before retrying`);
    }
  }

  /**
   * The reader gives `seq`: anything but the next seq expected means the log discarded entries
   * this replica had not read (it fell more than the log's bound behind, or the log moved on
   * between a snapshot's choice and the reading): it cannot go on, and restarts from a snapshot.
   */
  private inOrder(seq: number): boolean {
    if (seq < this.nextRead) return false;
    if (seq > this.nextRead) {
      this.opts.onFatal(new Error(`the cluster log gave seq ${seq} where ${this.nextRead} was next: entries were discarded before this replica read them`));
      return false;
    }
    this.nextRead = seq + 1;
    return true;
  }

  /** One entry back from the log: applied, then whoever waits for it is let go. */
  private apply(entry: LogEntry, seq: number): void {
    if (!this.inOrder(seq) || !this.replica.apply(entry, seq)) return;
    const waiter = this.waiting.get(entry.pid);
    if (waiter) {
      this.waiting.delete(entry.pid);
      waiter();
    }
    this.passed(seq);
  }

  /** An entry that does not decode: never applied, but read past (a read waiting for its seq goes on). */
  private skip(err: Error, seq: number): void {
    if (!this.inOrder(seq)) return;
    this.log.error({ err, seq }, 'undecodable cluster log entry; skipped');
    if (seq > this.skippedSeq) this.skippedSeq = seq;
    this.passed(seq);
  }

  private passed(seq: number): void {
    while (this.seqWaiters.length > 0 && this.seqWaiters[0]!.seq <= seq) this.seqWaiters.shift()!.resolve();
    // Between two entries: the one place the state is a log position.
    this.snapshotter?.applied(seq);
  }

  private appliedUpTo(seq: number): Promise<void> {
    if (Math.max(this.replica.appliedSeq, this.skippedSeq) >= seq) return Promise.resolve();
    // Kept sorted by seq (apply lets go from the front): reads and sessions wait for seqs
    // learned in any order.
    return new Promise((resolve) => {
      let at = this.seqWaiters.length;
      while (at > 0 && this.seqWaiters[at - 1]!.seq > seq) at--;
      this.seqWaiters.splice(at, 0, { seq, resolve });
    });
  }

  /** The heartbeat: refresh this node's key, then propose gone every node with sessions and no key. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      await this.liveness.beat(now);
      const live = await this.liveness.liveNodes();
      // Just after a NATS fault, a missing key proves nothing yet (Liveness.sure).
      if (!this.liveness.sure(now)) return;
      for (const [node, at] of this.goneProposed) if (now - at >= this.opts.nodeTimeoutMs) this.goneProposed.delete(node);
      const nodes = new Set([...this.ctx.router.state.allSessions()].map((s) => nodeOfKey(s.key)));
      for (const node of nodes) {
        if (node === this.opts.nodeId || live.has(node) || this.goneProposed.has(node)) continue;
        // Missing from the listing: read its key itself before calling it gone (Liveness.isLive).
        if (await this.liveness.isLive(node)) continue;
        this.goneProposed.set(node, now);
        void this.submit({ type: 'node-gone', node, by: this.opts.nodeId }).catch((err: Error) => this.log.warn({ err, node }, 'proposing a node gone failed; retried at a later heartbeat'));
      }
    } catch (err) {
      this.log.warn({ err }, 'cluster heartbeat failed');
    } finally {
      this.ticking = false;
    }
  }
}

/** The request as a replica applies it: only the fields it needs (the rest is not logged). */
function replicated(r: Exclude<CoreControlRequest, { type: 'who' | 'list' }>): ReplicatedRequest {
  switch (r.type) {
    case 'identitychange':
      return { type: r.type, identity: r.identity };
    case 'join':
    case 'delete':
      return { type: r.type, roomid: r.roomid };
    case 'createroom':
      return r.private === true ? { type: r.type, roomid: r.roomid, private: true } : { type: r.type, roomid: r.roomid };
    case 'quit':
      return { type: r.type };
  }
}

/** Why a node cannot start when the log's first entry is `first` and no snapshot covers what came before. */
export function noSnapshotReason(first: number): string {
  return (
    `the cluster log has discarded its entries before seq ${first} (clusterLogMaxMessages/clusterLogMaxAgeMs) and no snapshot at seq ${first - 1} or later can be read: ` +
    'this node cannot rebuild the chat state; keep clusterSnapshotEvery well below clusterLogMaxMessages (docs/CLUSTER.md, "Snapshots"), or restart the whole cluster with an empty log'
  );
}
