import type { RestoredSession } from '../core/chat-state';
import type { SessionKey } from '../core/effects';
import type { Attachment, CoreControlRequest } from '../protocol/messages';
import type { Outcome } from './outcomes';
import type { RouterOptions } from './router';
import type { HubContext } from './services';
import type { WorkerLink } from './worker-link';

/** A session a worker re-registered after a hub restart, with what the hub keeps beside it. */
export type RestoredOnLink = RestoredSession & { address: string; tokenHash: string | null; resumeHash: string | null };

/**
 * Who decides the order of the state-changing requests. One node: the hub, by arrival
 * (LocalOrder: apply now, as always). A cluster: the replicated log (src/cluster/ClusterOrder:
 * propose, then apply when the entry comes back in log order, on every node alike).
 * ChatState stays the one place where chat rules live; only where its order comes from changes.
 *
 * A method returning a promise holds the session's later frames until it settles (the hub's
 * per-session queue); a rejection is told to the session (RequestRefused, or a store error).
 */
export interface OrderSource {
  /** Builds the state before anything is served (`recovering`: a restarted hub awaits its workers). */
  load(recovering: boolean): Promise<void>;
  /** A new client on `link`. */
  open(link: WorkerLink, id: number, address: string): Promise<void> | void;
  /** A client's connection closed. */
  close(link: WorkerLink, id: number): Promise<void> | void;
  /** A room message; `attachment`: the file it carries, as the server recorded it. */
  chat(key: SessionKey, content: string, attachment?: Attachment): Promise<void> | void;
  /** A core control request (identitychange, join, who, list, createroom, delete, quit). */
  core(key: SessionKey, request: CoreControlRequest): Promise<void> | void;
  /** What an account-level request decided for session `key` (src/hub/outcomes.ts). */
  decide(key: SessionKey, outcome: Outcome): Promise<void> | void;
  /** A worker's link closed: its sessions leave. */
  linkClosed(link: WorkerLink): void;
  /** Sessions workers re-registered after a hub restart. */
  restore(sessions: RestoredOnLink[]): void;
  /** Null when requests of `type` are served; otherwise why not (told with CLUSTER_UNSUPPORTED). */
  refusal(type: string): string | null;
  /**
   * Resolves once this replica reflects everything session `key` has had committed (undefined
   * when it does already). A cluster commits a room message without waiting for it to come back
   * through the log, so a session can send its next one at once; a request behind it waits here,
   * so that a read (`who`, `history`, ...) sees the session's own messages.
   */
  caughtUp(key: SessionKey): Promise<void> | undefined;
}

/** How a hub is built for a cluster: its router's clock and sequencer, and its order source. */
export interface Ordering extends RouterOptions {
  makeOrder(ctx: HubContext): OrderSource;
}
