/**
 * An upgrade's hand-off of live sessions from an old worker to a new one, without the client
 * noticing: the same TCP (or Unix-socket) connection, no line lost, repeated or reordered.
 *
 * The protocol, per session (old worker O, its id `a`; new worker N; the hub H):
 *
 *  1. The supervisor has started N (fresh code from disk) and tells O `upgrade-handoff {to: N}`.
 *  2. O freezes the session (ClientSession.freeze): its handle stops reading at once; the
 *     bytes already read but not yet a line are kept. O sends H `HANDOFF(a, N)`: the last frame
 *     from O for it, behind every request O forwarded for it before.
 *  3. H (Router.handOff) cuts the pending room batches (their recipients include O), moves the
 *     session to N under a new local id `b` (the session keeps its key: the chat state never
 *     notices), then sends O `HANDED(a, b)` and N `INCOMING(b, mirror)`, both through the outbox,
 *     so O gets HANDED after everything decided for the session before the move, and N gets
 *     INCOMING before anything decided after it.
 *  4. N keeps what comes for `b` (Adoptions) until the socket arrives.
 *  5. O, on HANDED, has every byte meant for the client: it waits until its output is in the
 *     kernel (bounded; a client that does not read in time is closed as a slow consumer), then
 *     sends the supervisor `handed` with the raw socket handle and the session's own state
 *     (HandedSession: extended, rate-limit bucket, unread input, ...), and closes its copy.
 *  6. The supervisor passes both to N (`adopt`); N builds the session, writes what it kept,
 *     then the unread input is handled as if just read, and reading resumes from the kernel.
 *
 * TLS and WebSocket sessions (their crypto or framing state is in O's memory) are closed with
 * SHUTTING_DOWN and a reason; their clients reconnect and `reclaim`. A client that leaves during its hand-off is
 * reported `gone`, and N tells the hub it closed.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import { Kind, encodeClose, encodeHandoff, type HubToWorker, type MirroredView } from '../ipc/hub-link-messages';
import type { HandedSession } from '../ipc/supervisor-messages';
import { coreServerLines } from '../protocol/capabilities';
import { ErrorCode } from '../protocol/errors';
import type { ClientSession } from './client-session';
import { withoutBlocked } from './room-lines';

/** How long an old worker waits for a session's output to reach the kernel before passing it on. */
const DRAIN_MS = 5000;
/** An old worker gives up on HANDED replies after this long (the hub went away): it closes what is left. */
const HANDOFF_DEADLINE_MS = 20_000;
/** A new worker drops a half-arrived session (socket or INCOMING missing) after this long. */
const ADOPT_DEADLINE_MS = 30_000;

/** What the hand-off needs of its worker. */
export interface HandOffHost {
  readonly sessions: ReadonlyMap<number, ClientSession>;
  /** Sends a frame to the hub (queued while it is away); false when the queue is full. */
  hubSend(frame: Buffer): boolean;
  /** Takes a session out of the worker's books without telling the hub (it moved). */
  drop(session: ClientSession): void;
  /** Makes and lists a session for a handed socket, under the id the hub gave it. */
  create(id: number, socket: net.Socket): ClientSession;
  /** Handles a hub frame as if it had come from the hub (the mirror of an adopted session). */
  frame(msg: HubToWorker): void;
  /** A session counted by the supervisor on this worker ended without ever being listed. */
  sessionClosed(connId: number | undefined): void;
  /** Limits of a client's queued output (`maxOutboundBytes`): kept output is held to 8×. */
  readonly maxOutboundBytes: number;
  readonly log: Logger;
}

/** How an old worker's hand-off went: for the supervisor's report. */
export interface HandOutResult {
  moved: number;
  closed: Record<string, number>;
}

/** The old worker's side: freezes each session, asks the hub, passes each socket on. */
export class HandOut {
  private readonly handing = new Map<number, ClientSession>();
  private moved = 0;
  private readonly closed: Record<string, number> = {};
  private finished = false;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    private readonly host: HandOffHost,
    /** The new worker's id. */
    private readonly to: number,
    /** Passes the socket's handle and state to the supervisor; `sent` runs once it is written. */
    private readonly pass: (session: HandedSession, handle: object | null, sent: () => void) => void,
    private readonly done: (result: HandOutResult) => void,
  ) {
    this.deadline = setTimeout(() => this.giveUp(), HANDOFF_DEADLINE_MS);
  }

  start(): void {
    for (const s of [...this.host.sessions.values()]) {
      if (s.closed) continue;
      const kind = s.connectionKind;
      if (kind !== 'plain') {
        this.close(s, kind);
        continue;
      }
      s.freeze();
      this.handing.set(s.id, s);
      if (!this.host.hubSend(encodeHandoff(s.id, this.to))) {
        this.handing.delete(s.id);
        this.close(s, 'hub-away');
      }
    }
    this.check();
  }

  /** A frozen session whose socket closed before its HANDED: left for HANDED to report. */
  holds(session: ClientSession): boolean {
    return this.handing.get(session.id) === session;
  }

  /** The hub's HANDED(a, b): `b` 0 means the session was not moved (it ended meanwhile). */
  onHanded(id: number, newId: number): void {
    const s = this.handing.get(id);
    if (!s) return;
    if (newId === 0) {
      this.handing.delete(id);
      this.close(s, 'not-moved');
      return this.check();
    }
    this.host.drop(s);
    void s.written(DRAIN_MS).then((ok) => {
      const state = s.handedState(newId);
      if (!ok) {
        // Unwritten output cannot be carried over: a client that does not read in time goes.
        if (!s.closed) this.close(s, 'slow-consumer', ErrorCode.SLOW_CONSUMER, `slow consumer: output not read during an upgrade`);
        else this.count('left');
        this.pass({ ...state, gone: true }, null, () => {});
      } else {
        const { handle, closeCopy } = s.release();
        this.pass(handle ? state : { ...state, gone: true }, handle, closeCopy);
        this.moved++;
      }
      this.handing.delete(id);
      this.check();
    });
  }

  private close(s: ClientSession, why: string, code: ErrorCode = ErrorCode.SHUTTING_DOWN, reason = 'server is upgrading; reconnect (and reclaim your session) now'): void {
    this.count(why);
    s.frozen = false;
    s.disconnect(code, reason);
  }

  private count(why: string): void {
    this.closed[why] = (this.closed[why] ?? 0) + 1;
  }

  /** Done once nothing is being handed and every other session has closed. */
  private check(): void {
    if (this.finished || this.handing.size > 0) return;
    if ([...this.host.sessions.values()].some((s) => !s.closed)) {
      setTimeout(() => this.check(), 20).unref();
      return;
    }
    this.finished = true;
    clearTimeout(this.deadline);
    this.done({ moved: this.moved, closed: this.closed });
  }

  private giveUp(): void {
    if (this.finished) return;
    this.host.log.error({ waiting: this.handing.size }, 'upgrade: no HANDED from the hub in time; closing the sessions left');
    for (const s of this.handing.values()) if (!s.closed) this.close(s, 'timeout');
    this.handing.clear();
    for (const s of this.host.sessions.values()) if (!s.closed) s.disconnect(ErrorCode.SHUTTING_DOWN, 'server is upgrading; reconnect now');
    this.finished = true;
    setTimeout(() => this.done({ moved: this.moved, closed: this.closed }), 500).unref();
  }
}

/** A session on its way in: what the hub sent for it and, once here, its socket and state. */
interface Incoming {
  id: number;
  /** INCOMING arrived: from then on the hub's frames for `id` come here. */
  fromHub: boolean;
  view: MirroredView | null;
  /** Output kept until the socket arrives; `direct`: a reply (core clients get only core lines). */
  out: Array<{ bytes: Buffer; direct: boolean }>;
  outBytes: number;
  ended: boolean;
  state: HandedSession | null;
  socket: net.Socket | null;
  timer: NodeJS.Timeout;
}

/** The new worker's side: keeps each incoming session's output until its socket is here. */
export class Adoptions {
  private readonly incoming = new Map<number, Incoming>();

  constructor(private readonly host: HandOffHost) {}

  /** The hub's INCOMING(b, mirror). */
  fromHub(id: number, view: MirroredView | null): void {
    const entry = this.entry(id);
    entry.fromHub = true;
    entry.view = view;
    this.tryAttach(entry);
  }

  /** The supervisor's `adopt`: the socket (null: the client left) and the session's state. */
  fromOldWorker(socket: net.Socket | null, state: HandedSession): void {
    // Until its session listens, a reset must not be an uncaught 'error'; 'close' is seen then.
    socket?.on('error', () => {});
    const entry = this.entry(state.id);
    entry.state = state;
    entry.socket = socket;
    this.tryAttach(entry);
  }

  /** Keeps what a hub frame holds for sessions still on their way (the rest is the worker's). */
  capture(msg: HubToWorker): void {
    if (this.incoming.size === 0) return;
    switch (msg.kind) {
      case Kind.TO_SESSIONS:
        for (const id of msg.ids) {
          const e = this.incoming.get(id);
          if (e?.fromHub) this.keep(e, msg.line, true);
        }
        return;
      case Kind.TO_ROOM:
        for (const e of this.incoming.values()) {
          if (!e.fromHub || e.view?.roomid !== msg.roomid) continue;
          this.keep(e, e.view.blocked.length === 0 ? msg.lines : withoutBlocked(msg, new Set(e.view.blocked)), false);
        }
        return;
      case Kind.STATE: {
        const e = this.incoming.get(msg.id);
        if (e?.fromHub) e.view = msg.view;
        return;
      }
      case Kind.END: {
        const e = this.incoming.get(msg.id);
        if (e?.fromHub) e.ended = true;
        return;
      }
      default:
        return;
    }
  }

  private entry(id: number): Incoming {
    let e = this.incoming.get(id);
    if (!e) {
      const timer = setTimeout(() => this.expire(id), ADOPT_DEADLINE_MS);
      timer.unref();
      this.incoming.set(id, (e = { id, fromHub: false, view: null, out: [], outBytes: 0, ended: false, state: null, socket: null, timer }));
    }
    return e;
  }

  private keep(e: Incoming, bytes: Buffer, direct: boolean): void {
    e.out.push({ bytes, direct });
    e.outBytes += bytes.length;
  }

  private tryAttach(e: Incoming): void {
    if (!e.fromHub || !e.state) return;
    this.incoming.delete(e.id);
    clearTimeout(e.timer);
    const { state, socket } = e;
    // `destroyed`: the client left while its session waited for INCOMING ('close' went unheard).
    if (!socket || state.gone || socket.destroyed) {
      socket?.destroy();
      this.host.hubSend(encodeClose(e.id));
      this.host.sessionClosed(state.connId);
      return;
    }
    const s = this.host.create(e.id, socket);
    s.resumeFrom(state);
    let core: Map<Buffer, Buffer> | null = null;
    for (const { bytes, direct } of e.out) {
      if (!direct || s.extended) s.send(bytes);
      else {
        core ??= new Map();
        let lines = core.get(bytes);
        if (!lines) core.set(bytes, (lines = coreServerLines(bytes)));
        if (lines.length > 0) s.send(lines);
      }
    }
    if (e.outBytes > 8 * this.host.maxOutboundBytes) s.disconnect(ErrorCode.SLOW_CONSUMER, 'slow consumer: too much output waiting during an upgrade');
    // The mirror goes through the worker's own STATE handling: room index, blocks, reading.
    if (e.view) this.host.frame({ kind: Kind.STATE, id: e.id, view: e.view });
    if (e.ended) s.end();
    this.host.log.debug({ sessionId: e.id, kept: e.out.length }, 'adopted a session from an upgraded worker');
  }

  /** Half a hand-off after the deadline: the old worker or the hub went away meanwhile. */
  private expire(id: number): void {
    const e = this.incoming.get(id);
    if (!e) return;
    this.incoming.delete(id);
    this.host.log.warn({ sessionId: id, socket: e.socket !== null, fromHub: e.fromHub }, 'upgrade: a handed session did not fully arrive; dropped');
    if (e.fromHub) this.host.hubSend(encodeClose(id));
    if (e.socket) {
      e.socket.destroy();
      this.host.sessionClosed(e.state?.connId);
    }
  }
}
