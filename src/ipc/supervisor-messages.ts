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
  | { type: 'worker-exited'; workerId: number };

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
  | { type: 'session-closed'; connId?: number };

export function isChildMessage(value: unknown): value is ChildToSupervisor {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
