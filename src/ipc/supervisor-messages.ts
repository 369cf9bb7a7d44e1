import type { RateGuardSnapshot } from '../core/rate-limit';
import type { Config } from '../config/schema';
import type { AdvertisedHttp } from '../protocol/capabilities';
import type { ConsoleRequest } from '../core/console';
import type { ChildStats } from './process-figures';

/** The hub's answer to a console request: done (with what it did), or refused with a code. */
export type ConsoleReply = { ok: true; result: Record<string, unknown> } | { ok: false; code: string; message: string };

/**
 * Messages on Node's IPC channel between the supervisor and its children (a Unix socketpair;
 * client sockets ride along as passed file descriptors, SCM_RIGHTS).
 */

export type SupervisorToChild =
  /**
   * A client connection; the socket handle travels with the message. `tls`: it came in on the
   * TLS listener, not a byte read yet; the worker does the handshake. `connId`: set when the
   * connection counts towards its address's limit; the worker echoes it in 'session-closed'.
   * `http`: it came in on the HTTP (or, with `tls`, HTTPS) listener: the worker's HTTP gateway
   * serves it (the web app, WebSocket upgrades on /ws). `handOff`: the number the worker
   * confirms it with ('conn-taken'), as soon as it reads the message.
   */
  | { type: 'conn'; tls?: boolean; connId?: number; http?: boolean; handOff: number }
  /**
   * Workers: the certificate chain and key (PEM) for TLS handshakes from now on. Sent at spawn
   * and after a SIGHUP reload; sessions already open keep the pair they started with.
   */
  | { type: 'reload-tls'; cert: string; key: string }
  /**
   * Workers: the HTTP listener to advertise in `hello` replies, as bound (a configured port 0
   * is known only then). Sent once the listeners are open, and at spawn after that.
   */
  | { type: 'listening'; http: AdvertisedHttp | null }
  /** Stop: close clients with SHUTTING_DOWN, then exit. */
  | { type: 'shutdown' }
  /**
   * Hub: worker `workerId` has exited (crashed, or a dedicated worker whose client left). A
   * restarted hub still waiting for that worker's HELLO stops waiting for it.
   */
  | { type: 'worker-exited'; workerId: number }
  /**
   * An upgrade, to an old worker: hand every plain session to worker `to` (see
   * src/worker/hand-off.ts), close the TLS ones with a reason, then exit.
   */
  | { type: 'upgrade-handoff'; to: number }
  /**
   * An upgrade, to a new worker: a session handed over by an old one; its socket's raw handle
   * travels with the message, none when the client left during the hand-off (`session.gone`).
   */
  | { type: 'adopt'; session: HandedSession }
  /** Any child: report your figures (`switchboard status`); answered with 'stats' and the same `id`. */
  | { type: 'stats'; id: number }
  /** Hub: an operator's request from the control socket; answered with 'console-reply' and the same `id`. */
  | { type: 'console'; id: number; request: ConsoleRequest }
  /**
   * Any child: the settings were reloaded (SIGHUP, `switchboard reload`): `config` is the whole
   * configuration now in force; the settings marked `reload: 'live'` changed in it apply to the
   * running sessions at once (src/config/reload.ts).
   */
  | { type: 'reload-config'; config: Config }
  /**
   * Metrics (src/metrics, docs/OPERATIONS.md): the child answers with a 'metrics-report' of the
   * same `id`. `want`: 'metrics', its registries as prom-client JSON; 'health', the hub's
   * readiness (store, cluster) only.
   */
  | { type: 'metrics-request'; id: number; want: 'metrics' | 'health' };

export type ChildToSupervisor =
  /** The child is ready to serve (hub: listening; worker: linked to the hub). */
  | { type: 'ready' }
  /**
   * A worker stops by itself (a stop signal sent to it alone): place no new client there, its
   * clients are about to be told SHUTTING_DOWN.
   */
  | { type: 'stopping' }
  /**
   * A worker's client session ended (the supervisor counts clients per worker), with the
   * `connId` its `conn` carried, if any (the supervisor counts connections per address).
   */
  | { type: 'session-closed'; connId?: number }
  /** An old worker hands a session to worker `to` (the raw socket handle rides along; see 'adopt'). */
  | { type: 'handed'; to: number; session: HandedSession }
  /** An old worker has handed over or closed every session and exits now. */
  | { type: 'handoff-done'; moved: number; closed: Record<string, number> }
  /** The answer to a 'stats' request. */
  | { type: 'stats'; id: number; stats: ChildStats }
  /** The hub's answer to a 'console' request. */
  | { type: 'console-reply'; id: number; reply: ConsoleReply }
  /**
   * The answer to 'metrics-request' `id`: `app` and `process` are prom-client JSON
   * (`Registry.getMetricsAsJSON()`; empty when only health was asked), `health` the hub's
   * readiness checks (absent from workers).
   */
  | { type: 'metrics-report'; id: number; app: unknown[]; process: unknown[]; health?: ChildHealth }
  /**
   * A worker has the socket of 'conn' `handOff` (sent as it reads the message, before any
   * handshake): the supervisor closes its own copy, which it kept so that a socket a dying
   * worker never got can be placed on another (src/supervisor/hand-offs.ts).
   */
  | { type: 'conn-taken'; handOff: number };

/** A child's readiness checks for `/readyz`: each names a check and whether it passes, with why not. */
export type ChildHealth = Record<string, { ok: boolean; reason?: string }>;

/**
 * What a worker's session carries to its new worker in an upgrade, beside its socket and what
 * the hub keeps (identity, room, account and token hashes arrive from the hub: INCOMING).
 */
export interface HandedSession {
  /** Its id in the new worker, chosen by the hub (HANDED / INCOMING). */
  id: number;
  /** The client left while it was being handed over: the new worker just tells the hub. */
  gone?: boolean;
  connId?: number;
  extended: boolean;
  /** A valid message was seen (the first-message timeout is met). */
  validSeen: boolean;
  /** The message-rate guard (src/core/rate-limit.ts). */
  rate: RateGuardSnapshot;
  /** The inbound bytes-a-second bucket (`maxBytesPerSecond`): a client over it stays throttled. */
  inbound?: { tokens: number; last: number };
  /** Bytes read from the socket but not yet a full line (and any read but not yet split), base64. */
  unread: string;
}

export function isChildMessage(value: unknown): value is ChildToSupervisor {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
