import type { Logger } from 'pino';
import { ChatState, type ChatLimits, type RestoredSession } from '../core/chat-state';
import { NO_ONE, type Effect, type SessionKey } from '../core/effects';
import { encodeEnd, encodeHanded, encodeIncoming, encodeState, encodeToSessions, type MirroredView } from '../ipc/hub-link-messages';
import type { Attachment, CoreControlRequest, ModerationClientMessage, ServerMessage } from '../protocol/messages';
import { foldName } from '../protocol/rules';
import { hubMetrics } from '../metrics/hub-metrics';
import type { Store } from '../store/store';
import type { InboxDelivery } from './inbox-delivery';
import { Outbox } from './outbox';
import { RoomSequencer, type MessageStamp, type Sequencer } from './room-sequencer';
import { storeRefusalCode, storeRefusalReason } from './store-refusal';
import { parseSessionKey, type WorkerLink } from './worker-link';

/** Bytes queued to one worker above which a long reply waits before its next page. */
const LINK_QUEUE_BYTES = 4 * 1024 * 1024;

/** How a router is built for a cluster (src/cluster/); absent on one node. */
export interface RouterOptions {
  /** The clock ChatState decides by (a cluster's: the applied log entry's time). */
  clock?: () => number;
  /** The sequencer, given the outbox and the workers holding a room's members now. */
  makeSequencer?: (outbox: Outbox, workersOf: (roomid: string) => Iterable<WorkerLink>) => Sequencer;
}

/** What the hub keeps of a session beside the room state. */
export interface SessionExtras {
  address: string;
  /** Identities this session's account has blocked: their messages are not delivered to it. */
  blocked: ReadonlySet<string>;
  /** Hash of the token this session logged in with, for `logout`. */
  tokenHash: string | null;
  /** The delivery of its account's offline inbox, while logged in (see DirectMessages). */
  inbox?: InboxDelivery;
  /** Hash of the resume token the session was given (`session`), or null: it is held on a drop only with one. */
  resumeHash: string | null;
}

/**
 * The hub's router: applies requests to the one ChatState in arrival order and turns the
 * effects into frames, one per interested worker (never one per client), all through one
 * ordered outbox.
 */
export class Router {
  readonly state: ChatState;
  readonly outbox = new Outbox();
  readonly sequencer: Sequencer;
  private readonly links = new Map<number, WorkerLink>();
  /** For each room, the workers holding members of it and how many: chat fan-out targets. */
  private readonly roomWorkers = new Map<string, Map<WorkerLink, number>>();
  /** The room each session was last mirrored in, to keep roomWorkers counts right. */
  private readonly mirroredRoom = new Map<SessionKey, string>();
  private readonly extras = new Map<SessionKey, SessionExtras>();
  /** Resume token hashes of other nodes' sessions (a cluster; see setResumeHash). */
  private readonly remoteResumeHashes = new Map<SessionKey, string>();
  /**
   * Sessions handed to another worker by an upgrade: key -> the link and local id serving it
   * now (see handOff). Keys never change; a session not listed here is served by the worker
   * its key names.
   */
  private readonly moved = new Map<SessionKey, { link: WorkerLink; id: number }>();
  /** Room persistence, in the order the hub decided it. */
  private roomWrites: Promise<void> = Promise.resolve();
  /** Keys of no session whose messages someone reads here (the control socket's console: see watch). */
  private readonly watchers = new Map<SessionKey, (message: ServerMessage) => void>();
  /** Told of each `presence` effect (the hub's PresenceService); absent: nobody is. */
  onPresence?: (username: string, pair?: string) => void;
  /** Told of each `inbox-acked` outcome (the hub's DirectMessages: this node's devices of the account move on). */
  onInboxAcked?: (username: string, upto: number) => void;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    limits?: ChatLimits,
    options: RouterOptions = {},
  ) {
    this.state = new ChatState(limits, options.clock);
    const workersOf = (roomid: string): Iterable<WorkerLink> => this.roomWorkers.get(roomid)?.keys() ?? [];
    this.sequencer = options.makeSequencer?.(this.outbox, workersOf) ?? new RoomSequencer(store, this.outbox, {
      workersOf,
      storeFailed: (err, senders) => {
        this.log.error({ err, messages: senders.length }, 'storing room messages failed; not delivered');
        for (const key of new Set(senders)) this.sendTo(key, { type: 'error', code: storeRefusalCode(err), message: `your message could not be stored (${storeRefusalReason(err)}); it was not delivered` });
      },
      roomWriteFailed: (err, roomid) => this.log.error({ err, roomid }, 'storing the start or end of a room\'s history failed; retried before its next use'),
    });
  }

  get sessionCount(): number {
    return this.state.sessionCount;
  }

  /** True while worker `workerId` has a registered link. */
  hasLink(workerId: number): boolean {
    return this.links.has(workerId);
  }

  /**
   * Deletes the stored history of every room that does not exist (guest rooms of a server that
   * stopped, rooms that ended while the hub was down): run once the rooms are rebuilt at boot.
   */
  dropAbsentRooms(): void {
    for (const roomid of this.sequencer.knownRooms()) if (this.state.ownerOf(roomid) === undefined) this.sequencer.closeRoom(roomid);
  }

  addLink(link: WorkerLink): void {
    this.links.set(link.workerId!, link);
  }

  /** A worker's link is gone: its sessions leave as dropped connections. */
  removeLink(link: WorkerLink): void {
    if (this.links.get(link.workerId!) !== link) return;
    // Still registered while its sessions leave, so room counts drop; its socket is closed.
    for (const id of [...link.sessions]) this.close(link, id);
    this.links.delete(link.workerId!);
  }

  restore(sessions: Array<RestoredSession & { address: string; tokenHash: string | null; resumeHash: string | null }>): void {
    for (const s of sessions) {
      const at = this.route(s.key);
      at?.link.sessions.add(at.id);
      this.extras.set(s.key, { address: s.address, blocked: NO_ONE, tokenHash: s.tokenHash, resumeHash: s.resumeHash });
    }
    this.apply(this.state.restore(sessions));
  }

  open(link: WorkerLink, id: number, address: string): void {
    this.connect(this.register(link, id, address));
  }

  /** A new client of this node: known to its link, not yet to the chat (`connect`). */
  register(link: WorkerLink, id: number, address: string): SessionKey {
    link.sessions.add(id);
    const key = link.keyOf(id);
    this.extras.set(key, { address, blocked: NO_ONE, tokenHash: null, resumeHash: null });
    return key;
  }

  /** The client joins the chat: a guest name, MainHall, the welcome. */
  connect(key: SessionKey): void {
    this.apply(this.state.connect(key));
  }

  request(key: SessionKey, request: CoreControlRequest): void {
    this.apply(this.state.request(key, request), key);
  }

  moderate(key: SessionKey, request: ModerationClientMessage): void {
    this.apply(this.state.moderate(key, request), key);
  }

  close(link: WorkerLink, id: number): void {
    if (!link.sessions.has(id)) return;
    this.disconnect(link.keyOf(id));
  }

  /** The session's connection is gone (on any node of a cluster): it leaves as dropped. */
  disconnect(key: SessionKey): void {
    this.unroute(key);
    const resumeHash = this.extras.get(key)?.resumeHash ?? this.remoteResumeHashes.get(key) ?? null;
    this.remoteResumeHashes.delete(key);
    this.apply(this.state.disconnect(key, resumeHash));
    this.extras.delete(key);
  }

  /**
   * Closes a connection of this node the chat does not know (a cluster node cannot take back
   * sessions of an earlier hub, and one whose `connect` was not committed): its client reconnects.
   */
  end(key: SessionKey): void {
    const at = this.unroute(key);
    this.extras.delete(key);
    if (at) this.outbox.send(at.link, encodeEnd(at.id));
  }

  /** Sessions of this node's live links (a cluster node declared gone closes them all). */
  localSessions(): SessionKey[] {
    return [...this.links.values()].flatMap((link) => [...link.sessions].map((id) => link.keyOf(id)));
  }

  /**
   * The link is gone and its sessions' departures are yet to be decided (a cluster's log):
   * it no longer takes frames, and a worker restarted under its id may register.
   */
  detach(link: WorkerLink): void {
    if (this.links.get(link.workerId!) !== link) return;
    this.links.delete(link.workerId!);
    for (const [roomid, workers] of this.roomWorkers) {
      workers.delete(link);
      if (workers.size === 0) this.roomWorkers.delete(roomid);
    }
  }

  /** `stamp`: the message's id and time when already fixed (a cluster's proposer chose them). */
  chat(key: SessionKey, content: string, stamp?: MessageStamp, attachment?: Attachment): void {
    const roomid = this.state.roomOf(key);
    if (roomid === undefined) return;
    this.sequencer.add(key, roomid, this.state.identityOf(key)!, content, this.state.usernameOf(key) ?? null, stamp, attachment);
  }

  /**
   * `session`: the session's resume token is now the one hashed `hash` (a new one each time
   * asked; the last one given is the one that counts). Only the hash is kept: for a session of
   * this node here and in its worker's mirror; for another node's session (a cluster) beside
   * the state, so that its drop holds it here too, even when its node is gone.
   */
  setResumeHash(key: SessionKey, hash: string): void {
    const extras = this.extras.get(key);
    if (extras) {
      extras.resumeHash = hash;
      this.apply([{ kind: 'state', session: key }]);
    } else if (this.state.has(key)) this.remoteResumeHashes.set(key, hash);
  }

  /**
   * The resume token hashes every replica of a cluster knows, as [session key, hash]: this
   * node's sessions' (in their extras) and the others' (beside the state). What a snapshot
   * keeps (src/cluster/snapshot.ts).
   */
  resumeHashes(): Array<[SessionKey, string]> {
    const out: Array<[SessionKey, string]> = [];
    for (const s of this.state.allSessions()) {
      const hash = this.extras.get(s.key)?.resumeHash ?? this.remoteResumeHashes.get(s.key);
      if (hash) out.push([s.key, hash]);
    }
    return out;
  }

  /**
   * Puts back `resumeHashes` into a router with no session of its own yet (a snapshot's
   * restore at start): each is kept beside the state, as another node's session's is.
   */
  loadResumeHashes(hashes: ReadonlyArray<readonly [SessionKey, string]>): void {
    for (const [key, hash] of hashes) if (this.state.has(key)) this.remoteResumeHashes.set(key, hash);
  }

  /** True when a live link of this node holds a session (a cluster replaying its log at start holds none). */
  hasLocalSessions(): boolean {
    for (const link of this.links.values()) if (link.sessions.size > 0) return true;
    return false;
  }

  /** The devices of `username` (in any case) connected to this node. */
  localSessionsOfUser(username: string): SessionKey[] {
    return this.state.sessionsOfUser(username).filter((key) => this.linkOf(key) !== undefined);
  }

  extrasOf(key: SessionKey): SessionExtras | undefined {
    return this.extras.get(key);
  }

  /** Re-mirrors the session to its worker (after a change of its blocks). */
  refresh(key: SessionKey): void {
    this.apply([{ kind: 'state', session: key }]);
  }

  /**
   * Calls `read` with every message addressed to `key`, a key no session has (the console's,
   * src/hub/console.ts), until the returned function is called.
   */
  watch(key: SessionKey, read: (message: ServerMessage) => void): () => void {
    this.watchers.set(key, read);
    return () => this.watchers.delete(key);
  }

  sendTo(key: SessionKey, message: ServerMessage): void {
    this.apply([{ kind: 'deliver', to: [key], message }]);
  }

  /**
   * Resolves when the session's worker link has taken what was written to it (below a few
   * MB queued): long replies wait for it page by page instead of piling up in the hub.
   */
  async linkDrained(key: SessionKey): Promise<void> {
    const socket = this.linkOf(key)?.socket;
    while (socket && !socket.destroyed && socket.writableLength > LINK_QUEUE_BYTES) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
    // Let other sessions' frames (a CLOSE among them) be read between pages.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Sends pre-encoded lines to one session, in order, behind everything decided before. */
  sendLines(key: SessionKey, lines: string | Buffer): void {
    // As in apply: the room messages sequenced so far (the session's own among them) go first.
    this.sequencer.flush();
    const at = this.route(key);
    if (at && lines.length > 0) this.outbox.send(at.link, encodeToSessions([at.id], typeof lines === 'string' ? Buffer.from(lines) : lines));
  }

  /** Carries out `effects` in order; `by` (the requester) is told when a room change it made cannot be stored. */
  apply(effects: Effect[], by?: SessionKey): void {
    // Room messages sequenced so far go to the members as they were when sent.
    this.sequencer.flush();
    for (const fx of effects) {
      switch (fx.kind) {
        case 'deliver':
          if (this.watchers.size > 0) for (const key of fx.to) this.watchers.get(key)?.(fx.message);
          if (fx.message.type === 'error') hubMetrics.errors.incFor(fx.message.code);
          this.deliver(fx.to, Buffer.from(JSON.stringify(fx.message) + '\n'));
          break;
        case 'state':
          this.mirror(fx.session);
          break;
        case 'end': {
          const at = this.unroute(fx.session);
          this.extras.delete(fx.session);
          this.remoteResumeHashes.delete(fx.session);
          if (at) this.outbox.send(at.link, encodeEnd(at.id));
          break;
        }
        case 'persist-room':
          this.persist(() => this.store.saveRoom({ roomid: fx.roomid, owner: fx.owner, createdAt: Date.now() }), fx.roomid, by);
          break;
        case 'persist-room-modes': {
          // The rules as they are when this effect is applied: later changes queue their own write.
          const rules = this.state.persistentModesOf(fx.roomid);
          if (rules) this.persist(() => this.store.saveRoomRules(fx.roomid, rules), fx.roomid, by);
          break;
        }
        case 'unpersist-room':
          this.persist(() => this.store.deleteRoom(fx.roomid), fx.roomid, by);
          break;
        case 'room-opened':
          this.sequencer.openRoom(fx.roomid);
          break;
        case 'room-closed':
          this.sequencer.closeRoom(fx.roomid);
          break;
        case 'presence':
          this.onPresence?.(fx.username, fx.pair);
          break;
      }
    }
  }

  /**
   * Stores a room change, in the order decided. The change is in force already (the room state
   * is decided before it is stored); when the write fails the requester is told that it will not
   * outlive a restart.
   */
  private persist(write: () => Promise<void>, roomid: string, by: SessionKey | undefined): void {
    this.roomWrites = this.roomWrites.then(write).catch((err: Error) => {
      this.log.error({ err, roomid }, 'storing a room change failed');
      if (by !== undefined && this.state.has(by)) {
        this.sendTo(by, { type: 'error', code: storeRefusalCode(err), message: `the change to ${roomid} could not be stored: it is in force until the server restarts` });
      }
    });
  }

  private deliver(to: SessionKey[], line: Buffer): void {
    const byWorker = new Map<WorkerLink, number[]>();
    for (const key of to) {
      const at = this.route(key);
      if (!at) continue;
      const ids = byWorker.get(at.link);
      if (ids) ids.push(at.id);
      else byWorker.set(at.link, [at.id]);
    }
    for (const [link, ids] of byWorker) this.outbox.send(link, encodeToSessions(ids, line));
  }

  /** Tells the session's worker its new state and moves it between roomWorkers counts. */
  private mirror(key: SessionKey): void {
    const at = this.route(key);
    const link = at?.link;
    const view = this.state.view(key);
    const before = this.mirroredRoom.get(key);
    const after = view?.roomid;
    if (link && before !== after) {
      if (before !== undefined) this.countWorker(before, link, -1);
      if (after !== undefined) this.countWorker(after, link, +1);
    }
    if (after === undefined) this.mirroredRoom.delete(key);
    else this.mirroredRoom.set(key, after);
    const mirrored = at && this.mirroredView(key);
    if (at && mirrored) this.outbox.send(at.link, encodeState(at.id, mirrored));
  }

  /** What the session's worker mirrors of it (see MirroredView); null before it is in the chat. */
  private mirroredView(key: SessionKey): MirroredView | null {
    const view = this.state.view(key);
    if (!view) return null;
    const extras = this.extras.get(key);
    return { ...view, blocked: [...(extras?.blocked ?? [])].map(foldName), tokenHash: extras?.tokenHash ?? null, resumeHash: extras?.resumeHash ?? null };
  }

  /**
   * An upgrade's hand-off (HANDOFF from worker `from`, session `id`, to worker `toWorkerId`):
   * from now on the session is served by the new worker under a local id chosen here. Room
   * batches cut before (their recipients are fixed at the cut) and everything decided before
   * reach the old worker ahead of HANDED, its marker that nothing more for the session comes to
   * it; the new worker gets INCOMING (the session's mirror) before any frame for the new id. The
   * outbox keeps both orders. Replies HANDED with new id 0 when the session is not this link's
   * any more (it ended meanwhile) or the new worker has no link: the old worker then closes it.
   */
  handOff(from: WorkerLink, id: number, toWorkerId: number): void {
    const to = this.links.get(toWorkerId);
    const key = from.keyOf(id);
    const at = this.route(key);
    if (!to || to === from || !at || at.link !== from || at.id !== id || !from.sessions.has(id)) {
      this.outbox.send(from, encodeHanded(id, 0));
      return;
    }
    // Batches cut from here on count the session at its new worker.
    this.sequencer.flush();
    const newId = to.adoptedId();
    from.sessions.delete(id);
    from.aliases.delete(id);
    to.sessions.add(newId);
    to.aliases.set(newId, key);
    this.moved.set(key, { link: to, id: newId });
    const room = this.mirroredRoom.get(key);
    if (room !== undefined) {
      this.countWorker(room, from, -1);
      this.countWorker(room, to, +1);
    }
    this.outbox.send(from, encodeHanded(id, newId));
    this.outbox.send(to, encodeIncoming(newId, this.mirroredView(key)));
  }

  private countWorker(roomid: string, link: WorkerLink, delta: number): void {
    let workers = this.roomWorkers.get(roomid);
    if (!workers) this.roomWorkers.set(roomid, (workers = new Map()));
    const n = (workers.get(link) ?? 0) + delta;
    if (n > 0) workers.set(link, n);
    else workers.delete(link);
    if (workers.size === 0) this.roomWorkers.delete(roomid);
  }

  /** The link of a session of this node; undefined for another node's session (its node delivers). */
  private linkOf(key: SessionKey): WorkerLink | undefined {
    return this.route(key)?.link;
  }

  /**
   * The live link serving a session of this node and the session's id there: the worker its key
   * names, or the one it was handed to (`moved`); undefined for another node's session.
   */
  private route(key: SessionKey): { link: WorkerLink; id: number } | undefined {
    if (this.moved.size > 0) {
      const to = this.moved.get(key);
      if (to) return this.links.get(to.link.workerId!) === to.link ? to : undefined;
    }
    const { node, workerId, id } = parseSessionKey(key);
    const link = this.links.get(workerId);
    return link?.node === node ? { link, id } : undefined;
  }

  /** The session leaves its link's books (and the hand-off's); returns where it was. */
  private unroute(key: SessionKey): { link: WorkerLink; id: number } | undefined {
    const at = this.route(key);
    at?.link.sessions.delete(at.id);
    if (this.moved.size > 0) {
      const to = this.moved.get(key);
      if (to) {
        this.moved.delete(key);
        to.link.aliases.delete(to.id);
      }
    }
    return at;
  }
}
