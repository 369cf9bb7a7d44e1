import type { Logger } from 'pino';
import type { ChatLimits } from '../core/chat-state';
import type { SessionKey } from '../core/effects';
import { hashToken, newToken } from '../auth/tokens';
import { Kind, type Hello, type WorkerToHub } from '../ipc/hub-link-messages';
import { requestHandled, timeRequest } from '../metrics/hub-metrics';
import { ErrorCode } from '../protocol/errors';
import type { ControlRequest } from '../protocol/messages';
import { isStoreError } from '../store/errors';
import type { Store } from '../store/store';
import { AccountRateLimiter } from './account-rate-limit';
import { Administrators } from './administrators';
import { Accounts } from './accounts';
import type { ParseLimits } from '../protocol/validate';
import { HubConsole } from './console';
import { DirectMessages, type DirectLimits } from './direct-messages';
import { Contacts } from './contacts';
import { PresenceService } from './presence';
import { FileService } from './file-service';
import { LocalOrder } from './local-order';
import type { OrderSource, Ordering, RestoredOnLink } from './order-source';
import { Profiles } from './profiles';
import { RoomHistory } from './room-history';
import { Router } from './router';
import { RequestRefused, type HubContext } from './services';
import { storeRefusalCode, storeRefusalReason } from './store-refusal';
import type { WorkerLink } from './worker-link';

/** Requests that only read: worthless once their client has gone. */
const READ_ONLY = new Set<string>(['history', 'resume', 'dmhistory', 'presence', 'who', 'list', 'roominfo', 'search', 'blocklist']);

/** The limits the hub enforces (a subset of Config). */
export interface HubLimits extends ChatLimits {
  /** Room messages and DMs a second per account (`accountRateLimit`). */
  accountRateLimit: number;
  /** Usernames that are server administrators by configuration (`admins`). */
  admins: readonly string[];
  /** Entries one account's offline inbox holds at most (`maxInboxMessages`). */
  maxInboxMessages: number;
  /** UTF-8 bytes of DM content one account's offline inbox holds at most (`maxInboxBytes`). */
  maxInboxBytes: number;
  /** Inbox entries sent to a session and not yet acknowledged, at most (`inboxWindow`). */
  inboxWindow: number;
  /** A client's output bound (`maxOutboundBytes`): an inbox window's bytes stay under it. */
  maxOutboundBytes: number;
  /** Frames of one session waiting while its previous request is handled, at most (`maxQueuedRequests`). */
  maxQueuedRequests: number;
  /** Accounts one contact list holds (`maxContacts`); absent: unbounded. */
  maxContacts?: number;
  /** User searches a second per account (`searchRateLimit`); absent: unlimited. */
  searchRateLimit?: number;
  /** Where the blobs are (`dataDir`); absent: the file sweep deletes records only. */
  dataDir?: string;
  /** Files (src/hub/file-service.ts); absent: no quota, uploads kept a day, swept each minute. */
  fileQuotaBytes?: number;
  fileUploadGraceMs?: number;
  fileSweepIntervalMs?: number;
}

const UNLIMITED: HubLimits = {
  accountRateLimit: Infinity,
  maxRoomsPerOwner: Infinity,
  admins: [],
  maxInboxMessages: Infinity,
  maxInboxBytes: Infinity,
  inboxWindow: Infinity,
  maxOutboundBytes: Infinity,
  maxQueuedRequests: Infinity,
};

/** How often idle accounts' rate buckets are forgotten. */
const RATE_SWEEP_MS = 60_000;

/**
 * The hub's message handling. A restarted hub first waits for the workers alive before it
 * (or a deadline), rebuilds rooms from their HELLOs, and only then serves anything, so names
 * and rooms are as they were before the crash. Requests of one session are handled in order:
 * while one waits for the store, the session's next frames wait behind it.
 */
export class Hub {
  private readonly router: Router;
  private readonly ctx: HubContext;
  private readonly accounts: Accounts;
  private readonly directs: DirectMessages;
  private readonly history: RoomHistory;
  private readonly profiles: Profiles;
  private readonly presence: PresenceService;
  private readonly contacts: Contacts;
  private readonly accountRate: AccountRateLimiter;
  private readonly admins: Administrators;
  private readonly files: FileService;
  private recovering: boolean;
  private readonly awaited: Set<number>;
  private readonly restored: RestoredOnLink[] = [];
  /** Who orders the state-changing requests: this hub (one node) or the cluster's log. */
  private readonly order: OrderSource;
  private readonly awaitingWelcome: Array<{ link: WorkerLink; id: number; address: string }> = [];
  private readonly heldDuringRecovery: Array<{ link: WorkerLink; msg: WorkerToHub }> = [];
  /** Sessions with a request in flight, and the frames that arrived meanwhile. */
  private readonly busy = new Map<SessionKey, Array<{ link: WorkerLink; msg: WorkerToHub }>>();

  /** The hub's limits: a copy, so a reload can change the live ones (see reconfigure). */
  private readonly limits: HubLimits;
  /** The DM bounds, shared with every inbox delivery: changed in place by a reload. */
  private readonly directLimits: DirectLimits;

  constructor(
    store: Store,
    expectedWorkers: number[],
    recoveryDeadlineMs: number,
    private readonly log: Logger,
    limits: HubLimits = UNLIMITED,
    ordering?: Ordering,
  ) {
    this.limits = { ...limits };
    this.router = new Router(store, log, limits, ordering);
    this.admins = new Administrators(store, limits.admins);
    this.accountRate = new AccountRateLimiter(limits.accountRateLimit);
    setInterval(() => {
      this.accountRate.sweep(Date.now());
      this.contacts.sweep(Date.now());
    }, RATE_SWEEP_MS).unref();
    this.ctx = { router: this.router, store, log, decide: (key, outcome) => this.order.decide(key, outcome) };
    this.directLimits = {
      inbox: { messages: limits.maxInboxMessages, bytes: limits.maxInboxBytes },
      window: { entries: limits.inboxWindow, bytes: limits.maxOutboundBytes },
    };
    this.directs = new DirectMessages(this.ctx, this.directLimits);
    this.presence = new PresenceService(this.ctx);
    this.router.onPresence = (username, pair) => this.presence.changed(username, pair);
    this.router.onInboxAcked = (username, upto) => {
      this.directs.acked(username, upto).catch((err: Error) => log.error({ err, username }, 'moving the inbox deliveries on after an ack failed'));
    };
    this.contacts = new Contacts(this.ctx, this.presence, { maxContacts: limits.maxContacts ?? Infinity, searchRateLimit: limits.searchRateLimit ?? Infinity });
    this.accounts = new Accounts(this.ctx, this.directs, this.admins, this.presence);
    this.history = new RoomHistory(this.ctx);
    this.profiles = new Profiles(this.ctx, this.directs, this.presence);
    this.files = new FileService(this.ctx, this.admins, {
      dataDir: limits.dataDir ?? null,
      fileQuotaBytes: limits.fileQuotaBytes ?? Infinity,
      fileUploadGraceMs: limits.fileUploadGraceMs ?? 24 * 3600_000,
      fileSweepIntervalMs: limits.fileSweepIntervalMs ?? 60_000,
    });
    this.files.start();
    this.order = ordering?.makeOrder(this.ctx) ?? new LocalOrder(this.ctx);
    this.awaited = new Set(expectedWorkers);
    this.recovering = this.awaited.size > 0;
    if (this.recovering) {
      log.info({ expectedWorkers }, 'recovering: waiting for workers to re-register');
      setTimeout(() => this.finishRecovery(), recoveryDeadlineMs).unref();
    }
  }

  /** Builds the state before any worker is served (the store's, or a cluster log's replay). */
  load(): Promise<void> {
    return this.order.load(this.recovering);
  }

  get sessionCount(): number {
    return this.router.sessionCount;
  }

  /** Rooms that exist now, MainHall included. */
  get roomCount(): number {
    return this.router.state.roomCount;
  }

  /** The control socket's requests, acting as an administrator (src/hub/console.ts); `node`: the cluster node id, '' on one node. */
  makeConsole(node: string, parseLimits: () => ParseLimits): HubConsole {
    return new HubConsole(this.ctx, node, parseLimits);
  }

  /**
   * A reload (SIGHUP, `switchboard reload`): the live limits the hub enforces take their new
   * values, for every session at once (src/config/reload.ts lists which settings are live).
   * Accounts named in or dropped from `admins` get their role now; see Administrators.
   */
  reconfigure(limits: HubLimits): void {
    const { accountRateLimit, admins, maxInboxMessages, maxInboxBytes, inboxWindow, maxOutboundBytes, maxQueuedRequests } = limits;
    Object.assign(this.limits, { accountRateLimit, admins, maxInboxMessages, maxInboxBytes, inboxWindow, maxOutboundBytes, maxQueuedRequests });
    this.directLimits.inbox.messages = maxInboxMessages;
    this.directLimits.inbox.bytes = maxInboxBytes;
    this.directLimits.window.entries = inboxWindow;
    this.directLimits.window.bytes = maxOutboundBytes;
    this.accountRate.setRate(accountRateLimit);
    if (this.admins.setConfigured(admins)) void this.refreshAdminRoles();
  }

  /**
   * The `admins` setting changed: every logged-in session of this node whose role is now
   * different gets it, decided as a login would (so a cluster replicates it), and leaves a room
   * only the role let it into.
   */
  private async refreshAdminRoles(): Promise<void> {
    const { state } = this.router;
    for (const key of this.router.localSessions()) {
      const username = state.usernameOf(key);
      if (!username) continue;
      try {
        const admin = await this.admins.isAdmin(username);
        if (admin !== state.isAdmin(key) && state.usernameOf(key) === username) await this.order.decide(key, { type: 'login', username, admin });
      } catch (err) {
        this.log.error({ err, username }, 'reload: the administrator role of a session could not be updated');
      }
    }
  }

  /** Bytes waiting in the outbox behind messages not yet stored (metrics). */
  get outboxBytes(): number {
    return this.router.outbox.pendingBytes();
  }

  /** Resolves once every room message sequenced so far is stored. */
  settled(): Promise<void> {
    return this.router.sequencer.settled();
  }

  onMessage(link: WorkerLink, msg: WorkerToHub): void {
    if (msg.kind === Kind.HELLO) {
      // One HELLO per link, and one link per worker id: another would take over its sessions.
      if (link.workerId !== null) return this.dropLink(link, 'second HELLO on a link', { workerId: link.workerId });
      if (this.router.hasLink(msg.hello.workerId)) return this.dropLink(link, 'HELLO for a worker id that has a live link', { claimed: msg.hello.workerId });
      return this.onHello(link, msg.hello);
    }
    if (link.workerId === null) return this.dropLink(link, 'frame before HELLO', { kind: msg.kind });
    if (this.recovering) {
      this.heldDuringRecovery.push({ link, msg });
      return;
    }
    this.handle(link, msg);
  }

  /** A link that breaks the IPC protocol is closed, with the reason logged; its worker reconnects. */
  private dropLink(link: WorkerLink, reason: string, fields: object): void {
    this.log.error({ ...fields, reason }, `${reason}; closing the link`);
    link.socket.destroy();
  }

  /**
   * The supervisor saw worker `workerId` exit. A restarted hub that still awaits its HELLO stops
   * waiting: the dead worker's clients are gone, and the others need not wait for the deadline.
   */
  workerExited(workerId: number): void {
    if (!this.recovering || !this.awaited.delete(workerId)) return;
    this.log.info({ workerId }, 'an awaited worker exited during recovery');
    if (this.awaited.size === 0) this.finishRecovery();
  }

  onLinkClosed(link: WorkerLink): void {
    if (link.workerId === null) return;
    this.log.info({ workerId: link.workerId, sessions: link.sessions.size }, 'worker link closed');
    if (this.recovering) {
      const prefix = link.keyOf(0).replace(/0$/, '');
      removeWhere(this.restored, (s) => s.key.startsWith(prefix));
      removeWhere(this.awaitingWelcome, (w) => w.link === link);
      removeWhere(this.heldDuringRecovery, (h) => h.link === link);
    }
    this.order.linkClosed(link);
  }

  private onHello(link: WorkerLink, hello: Hello): void {
    link.workerId = hello.workerId;
    this.router.addLink(link);
    for (const s of hello.sessions) {
      link.noteId(s.id);
      if (s.view) this.restored.push({ key: link.keyOf(s.id), address: s.address, tokenHash: s.tokenHash, resumeHash: s.resumeHash ?? null, ...s.view });
      else this.awaitingWelcome.push({ link, id: s.id, address: s.address });
    }
    this.log.info({ workerId: hello.workerId, sessions: hello.sessions.length }, 'worker registered');
    this.awaited.delete(hello.workerId);
    if (!this.recovering || this.awaited.size === 0) this.finishRecovery();
  }

  private finishRecovery(): void {
    const recovered = this.recovering;
    if (this.recovering) {
      this.recovering = false;
      if (this.awaited.size > 0) this.log.warn({ missing: [...this.awaited] }, 'recovery deadline passed without some workers');
      this.log.info({ sessions: this.restored.length }, 'recovered');
    }
    const restored = this.restored.splice(0);
    this.order.restore(restored);
    // The guest rooms are back: what is stored of any other room belongs to no room now.
    if (recovered) this.router.dropAbsentRooms();
    for (const r of restored) {
      if (!r.username) continue;
      // A store that fails here must not take the hub down: the session goes on without its
      // block list and administrator role until it logs in again, and is told so.
      this.reloadAccount(r.key, r.username).catch((err: Error) => {
        this.log.error({ err, username: r.username }, 'reloading a restored account failed');
        this.router.sendTo(r.key, { type: 'error', code: storeRefusalCode(err), message: 'your block list and role could not be reloaded; log in again' });
      });
    }
    for (const { link, id, address } of this.awaitingWelcome.splice(0)) this.opened(link, id, address);
    for (const { link, msg } of this.heldDuringRecovery.splice(0)) this.guarded(link, msg, () => this.handle(link, msg));
  }

  /**
   * A restored logged-in session gets its block list back (the worker's mirror is refreshed),
   * its administrator role as it is now, and its inbox delivery again: what was in flight when
   * the old hub died is sent again (clients drop an `id` they have), so its acks pace it on.
   */
  private async reloadAccount(key: SessionKey, username: string): Promise<void> {
    const extras = this.router.extrasOf(key);
    if (!extras) return;
    extras.blocked = new Set(await this.ctx.store.blockedBy(username));
    const admin = await this.admins.isAdmin(username);
    this.router.refresh(key);
    // A revoked grant must not keep the session in a room only the role let it into.
    this.router.apply(this.router.state.setAdmin(key, admin));
    await this.directs.deliverInbox(key, username);
  }

  private handle(link: WorkerLink, msg: WorkerToHub): void {
    if (msg.kind === Kind.HELLO) return;
    if (msg.kind === Kind.OPEN) return this.opened(link, msg.id, msg.address);
    // Not a session's: answered on its own, in any order with the sessions' requests.
    if (msg.kind === Kind.FILE_ASK) return this.files.answer(link, msg.frame);
    // Not queued behind the session's request in flight: its answer goes to wherever the
    // session is when it is ready (see Router.handOff).
    if (msg.kind === Kind.HANDOFF) return this.handOff(link, msg.id, msg.to, 0);
    const key = link.keyOf(msg.id);
    const waiting = this.busy.get(key);
    if (waiting) {
      // A client that left gets no replies: its queued reads and worker answers are dropped (a
      // pile of resumes must not run for nobody), what it changed (ack, dm, message, ...) still happens.
      if (msg.kind === Kind.CLOSE) removeWhere(waiting, (w) => w.msg.kind === Kind.IN_TURN || (w.msg.kind === Kind.REQUEST && READ_ONLY.has(w.msg.request.type)));
      // Bounded: a client piling requests behind a slow one (a long resume) is told, not queued.
      else if (waiting.length >= this.limits.maxQueuedRequests) {
        // A worker's answer goes at once, out of turn: a BUSY in its place would say less.
        if (msg.kind === Kind.IN_TURN) return this.router.sendLines(key, msg.lines);
        this.router.sendTo(key, { type: 'error', code: ErrorCode.BUSY, message: `more than ${this.limits.maxQueuedRequests} requests waiting behind your earlier ones; request dropped, send it again later` });
        return;
      }
      waiting.push({ link, msg });
      return;
    }
    const pending = this.guarded(link, msg, () => this.process(link, msg, key));
    if (pending) this.waitFor(key, pending);
  }

  /**
   * An upgrade's HANDOFF (Router.handOff). The new worker said HELLO before the supervisor let
   * the old one start, but its link may be read a moment after the old one's: waited for, 1 s.
   */
  private handOff(link: WorkerLink, id: number, to: number, tries: number): void {
    if (!this.router.hasLink(to) && tries < 40 && !link.socket.destroyed) {
      setTimeout(() => this.handOff(link, id, to, tries + 1), 25);
      return;
    }
    this.router.handOff(link, id, to);
  }

  /** A new client; its first requests wait until it is in the chat (a cluster's log took it). */
  private opened(link: WorkerLink, id: number, address: string): void {
    const pending = this.order.open(link, id, address);
    if (pending) this.waitFor(link.keyOf(id), pending);
  }

  /**
   * Runs one frame's handling; a synchronous throw (a bug) is logged and answered to the
   * session with INTERNAL_ERROR, and the link, the session and every other session go on.
   */
  private guarded<T>(link: WorkerLink, msg: WorkerToHub, run: () => T): T | undefined {
    try {
      return run();
    } catch (err) {
      this.log.error({ err, workerId: link.workerId, kind: msg.kind, type: msg.kind === Kind.REQUEST ? msg.request.type : undefined }, 'failed to handle a frame; skipped');
      if (msg.kind === Kind.CHAT || msg.kind === Kind.REQUEST) this.router.sendTo(link.keyOf(msg.id), { type: 'error', code: ErrorCode.INTERNAL_ERROR, message: 'the server could not handle this request' });
      return undefined;
    }
  }

  /** Handles one frame; returns a promise when it waits for the store. Timed (metrics). */
  private process(link: WorkerLink, msg: WorkerToHub, key: SessionKey): Promise<void> | void {
    if (msg.kind === Kind.IN_TURN) return this.inTurn(key, msg.lines);
    if (!timeRequest(msg)) return this.route(link, msg, key);
    const started = performance.now();
    const result = this.route(link, msg, key);
    requestHandled(msg, started, result);
    return result;
  }

  private route(link: WorkerLink, msg: WorkerToHub, key: SessionKey): Promise<void> | void {
    switch (msg.kind) {
      case Kind.CHAT:
        if (!this.withinAccountRate(key)) return;
        return this.order.chat(key, msg.content);
      case Kind.CLOSE:
        return this.order.close(link, msg.id);
      case Kind.REQUEST:
        return this.request(key, msg.request);
      default:
        return;
    }
  }

  /**
   * A worker's own answer to a line of the session (Kind.IN_TURN), its turn come: sent back as
   * is, behind the replies to the session's earlier requests (docs/PROTOCOL.md, "Framing") and,
   * in a cluster, behind its room messages still on their way through the log. Node-local: it
   * changes nothing, so no log entry.
   */
  private inTurn(key: SessionKey, lines: Buffer): Promise<void> | void {
    const behind = this.order.caughtUp(key);
    if (behind) return behind.then(() => this.router.sendLines(key, lines));
    this.router.sendLines(key, lines);
  }

  private waitFor(key: SessionKey, pending: Promise<void>): void {
    this.busy.set(key, []);
    pending
      .catch((err: Error) => this.refuse(key, err))
      .finally(() => {
        const queued = this.busy.get(key) ?? [];
        this.busy.delete(key);
        while (queued.length > 0) {
          const next = queued.shift()!;
          const more = this.guarded(next.link, next.msg, () => this.process(next.link, next.msg, key));
          if (more) {
            this.waitFor(key, more);
            this.busy.get(key)!.push(...queued);
            return;
          }
        }
      });
  }

  private refuse(key: SessionKey, err: Error): void {
    if (err instanceof RequestRefused) {
      this.router.sendTo(key, { type: 'error', code: err.code, message: err.message });
      return;
    }
    this.log.error({ err }, 'request failed');
    // Only the store's own failures are STORE_FAILED (STORE_UNREACHABLE when its server is
    // down); anything else is a bug in the hub.
    if (isStoreError(err)) this.router.sendTo(key, { type: 'error', code: storeRefusalCode(err), message: `the server could not complete this request: ${storeRefusalReason(err)}` });
    else this.router.sendTo(key, { type: 'error', code: ErrorCode.INTERNAL_ERROR, message: 'the server could not handle this request' });
  }

  /** `session`: a fresh resume token; its hash is decided (a cluster: on every replica), then the token goes to its client. */
  private async issueResumeToken(key: SessionKey): Promise<void> {
    const token = newToken();
    await this.ctx.decide(key, { type: 'resume-token', hash: hashToken(token) });
    this.router.sendTo(key, { type: 'session', token, graceMs: this.limits.reconnectGraceMs ?? 0 });
  }

  /** A logged-in sender's message fits its account's budget; otherwise it is dropped and told. */
  private withinAccountRate(key: SessionKey): boolean {
    const username = this.router.state.usernameOf(key);
    if (!username || this.accountRate.allows(username, Date.now())) return true;
    this.router.sendTo(key, { type: 'error', code: ErrorCode.RATE_LIMITED, message: `over ${this.accountRate.rate} messages a second for this account; message dropped` });
    return false;
  }

  private request(key: SessionKey, r: ControlRequest): Promise<void> | void {
    // Behind the session's own room messages still on their way through a cluster's log.
    const behind = this.order.caughtUp(key);
    if (behind) return behind.then(() => this.dispatch(key, r));
    return this.dispatch(key, r);
  }

  private dispatch(key: SessionKey, r: ControlRequest): Promise<void> | void {
    const refusal = this.order.refusal(r.type);
    if (refusal !== null) return this.router.sendTo(key, { type: 'error', code: ErrorCode.CLUSTER_UNSUPPORTED, message: refusal });
    switch (r.type) {
      case 'identitychange':
      case 'join':
      case 'who':
      case 'list':
      case 'createroom':
      case 'delete':
      case 'quit':
        return this.order.core(key, r);
      case 'register':
        return this.accounts.register(key, r.username, r.password);
      case 'login':
        return this.accounts.login(key, r);
      case 'logout':
        return this.accounts.logout(key);
      case 'dm':
        if (!this.withinAccountRate(key)) return;
        if (r.attachment) return this.files.attachment(key, r.attachment.id).then((a) => this.directs.send(key, r.to, r.content, a));
        return this.directs.send(key, r.to, r.content);
      case 'message':
        // A room message with an attachment (without one it comes as CHAT): the sender's upload.
        if (!this.withinAccountRate(key)) return;
        return this.files.attachment(key, r.attachment.id).then((a) => this.order.chat(key, r.content, a));
      case 'ack':
        return this.directs.ack(key, r.inbox);
      case 'dmhistory':
        return this.directs.history(key, r.with, r.before, r.limit, r.cursor);
      case 'history':
        return this.history.history(key, r.roomid, r.before, r.limit);
      case 'resume':
        return this.history.resume(key, r.roomid, r.since, r.limit, r.epoch);
      case 'recall':
        return this.history.recall(key, r.id);
      case 'block':
        return this.profiles.block(key, r.user, true);
      case 'unblock':
        return this.profiles.block(key, r.user, false);
      case 'dnd':
        return this.profiles.setDnd(key, r.on);
      case 'status':
        return this.profiles.setStatus(key, r.text);
      case 'presence':
        return this.profiles.presence(key, r.users);
      case 'session':
        return this.issueResumeToken(key);
      case 'reclaim':
        return this.ctx.decide(key, { type: 'reclaim', hash: hashToken(r.token) });
      case 'private':
      case 'invite':
      case 'uninvite':
      case 'kick':
      case 'ban':
      case 'unban':
      case 'roominfo':
      case 'transfer':
      case 'disconnect':
      case 'notice':
        return r.type === 'roominfo' ? this.router.moderate(key, r) : this.ctx.decide(key, { type: 'moderate', request: r });
      case 'contacts':
        return this.contacts.contacts(key, r.action, r.username);
      case 'search':
        return this.contacts.search(key, r.prefix);
      case 'away':
        return this.contacts.away(key, r.on);
      case 'blocklist':
        return this.profiles.blocklist(key);
    }
  }
}

function removeWhere<T>(items: T[], doomed: (item: T) => boolean): void {
  let kept = 0;
  for (const item of items) if (!doomed(item)) items[kept++] = item;
  items.length = kept;
}
