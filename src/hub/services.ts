import type { Logger } from 'pino';
import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { Store } from '../store/store';
import type { Outcome } from './outcomes';
import type { Router } from './router';

/** What every hub service works with. */
export interface HubContext {
  router: Router;
  store: Store;
  log: Logger;
  /**
   * Hands what an account-level request decided to the order source: applied at once on one
   * node; in a cluster proposed to the log and applied on every replica, resolving once this
   * node has applied it (a rejection: CLUSTER_UNAVAILABLE).
   */
  decide(key: SessionKey, outcome: Outcome): Promise<void> | void;
}

/** A refusal the client is told about: becomes an `error` line to the requester. */
export class RequestRefused extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The requester's account name, or a NOT_LOGGED_IN refusal. */
export function requireLogin(ctx: HubContext, key: SessionKey): string {
  const username = ctx.router.state.usernameOf(key);
  if (!username) throw new RequestRefused(ErrorCode.NOT_LOGGED_IN, 'log in first');
  return username;
}

export function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  return Math.max(1, Math.min(limit ?? fallback, max));
}
