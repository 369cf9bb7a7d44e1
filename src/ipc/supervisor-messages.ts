import type { Config } from '../config/schema';
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
   * serves it (the web app, WebSocket upgrades on /ws).
   */
  | { type: 'conn'; tls?: boolean; connId?: number; http?: boolean }
  /**
   * Workers: the certificate chain and key (PEM) for TLS handshakes from now on. Sent at spawn
   * and after a SIGHUP reload; sessions already open keep the pair they started with.
   */
  | { type: 'reload-tls'; cert: string; key: string }
  /** Stop: close clients with SHUTTING_DOWN, then exit. */
  | { type: 'shutdown' }
  /**
   * Hub: worker `workerId` has exited (crashed, or a dedicated worker whose client left). A
   * restarted hub still waiting for that worker's HELLO stops waiting for it.
   */
  | { type: 'worker-exited'; workerId: number }
  /** Any child: report your figures (`switchboard status`); answered with 'stats' and the same `id`. */
  | { type: 'stats'; id: number }
  /** Hub: an operator's request from the control socket; answered with 'console-reply' and the same `id`. */
  | { type: 'console'; id: number; request: ConsoleRequest }
  /**
   * Any child: the settings were reloaded (SIGHUP, `switchboard reload`): `config` is the whole
   * configuration now in force; the settings marked `reload: 'live'` changed in it apply to the
   * running sessions at once (src/config/reload.ts).
   */
  | { type: 'reload-config'; config: Config };

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
  /** The answer to a 'stats' request. */
  | { type: 'stats'; id: number; stats: ChildStats }
  /** The hub's answer to a 'console' request. */
  | { type: 'console-reply'; id: number; reply: ConsoleReply };

export function isChildMessage(value: unknown): value is ChildToSupervisor {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
