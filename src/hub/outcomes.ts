import type { ConsoleRequest } from '../core/console';
import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { Attachment, ModerationClientMessage } from '../protocol/messages';
import type { Router } from './router';

/** The moderation requests that change the chat (roominfo only reads: answered where it is asked). */
export type ReplicatedModeration = Exclude<ModerationClientMessage, { type: 'roominfo' }>;

/**
 * What an account-level request decided, once the store work is done by the node that took it
 * (a password checked, an account created, a DM stored): the part that changes the chat state
 * or reaches sessions elsewhere. One node applies it at once (LocalOrder); a cluster carries it
 * in a log entry and every replica applies it in log order (src/cluster/). Everything needed is
 * in the outcome, so applying it reads no store, no clock and no randomness.
 */
export type Outcome =
  | /** Usernames become registered accounts: no one else may go by them. */ { type: 'reserve'; usernames: string[] }
  | /** The session proved it is `username` (as stored); `admin`: its role, looked up by the decider. */ { type: 'login'; username: string; admin: boolean }
  | /** The session is a guest again. */ { type: 'logout' }
  | /** A moderation request of the session (its rules are ChatState's, applied on every replica). */ { type: 'moderate'; request: ReplicatedModeration }
  | /**
     * A stored DM that goes live to every device of its recipient, wherever it is, and back to
     * every device of its sender (so their conversations stay in step). `senderOnly`: it went
     * to the recipient's inbox (offline, do-not-disturb) or nowhere (blocked): only the sender's
     * devices get it.
     */ {
      type: 'dm';
      message: { id: string; from: string; to: string; content: string; ts: number; attachment?: Attachment };
      senderOnly?: boolean;
    }
  | /**
     * A message was recalled in the store. A room message's members are told (`roomid`, `seq`,
     * `epoch` set); a DM's recipient (`to`, its username) is, with `roomid` ''.
     */ { type: 'recalled'; id: string; roomid: string; seq: number; epoch: string; by: string; to?: string }
  | /** The session's resume token is now the one of this hash (the token itself goes only to its client). */ { type: 'resume-token'; hash: string }
  | /** The session presents a resume token (its hash): the held session comes back on it. */ { type: 'reclaim'; hash: string }
  | /** An operator's request from the control socket; `key` is the console's, no session's (ChatState.administer). */ { type: 'console'; request: ConsoleRequest }
  | /**
     * The account's status line or do-not-disturb changed in the store: its contacts are told.
     * `pair`: a block between the two changed: only they are (PresenceService.changed).
     */ { type: 'presence'; username: string; pair?: string }
  | /** The session's account is away (or back). */ { type: 'away'; on: boolean }
  | /** The block list of `username` is now `blocked`: its devices on every node filter by it. */ { type: 'blocks'; username: string; blocked: string[] }
  | /** The inbox of `username` is acknowledged up to `upto` (by one device): every device's delivery window moves on. */ {
      type: 'inbox-acked';
      username: string;
      upto: number;
    };

/** Applies an outcome decided for session `key` to a router: the same on one node and on every replica. */
export function applyOutcome(router: Router, key: SessionKey, outcome: Outcome): void {
  const { state } = router;
  switch (outcome.type) {
    case 'reserve':
      return state.reserve(outcome.usernames);
    case 'login':
      return router.apply(
        state.login(key, outcome.username, { type: 'error', code: ErrorCode.SESSION_REPLACED, message: `${outcome.username} logged in on a newer device; this one, the oldest, is closed (the number of devices per account is limited)` }, outcome.admin),
      );
    case 'logout':
      return router.apply(state.logout(key));
    case 'moderate':
      return router.moderate(key, outcome.request);
    case 'dm': {
      const { message } = outcome;
      const to = new Set([key, ...state.sessionsOfUser(message.from)]);
      if (outcome.senderOnly !== true) for (const k of state.sessionsOfUser(message.to)) to.add(k);
      return router.apply([{ kind: 'deliver', to: [...to], message: { type: 'dm', ...message } }]);
    }
    case 'recalled': {
      const { id, roomid, seq, epoch, by } = outcome;
      const audience =
        outcome.to === undefined
          ? new Set([...state.membersOf(roomid), key])
          : new Set([key, ...state.sessionsOfUser(outcome.to), ...state.sessionsOfUser(state.usernameOf(key) ?? '')]);
      return router.apply([{ kind: 'deliver', to: [...audience], message: { type: 'recalled', id, roomid, seq, by, epoch } }]);
    }
    case 'resume-token':
      return router.setResumeHash(key, outcome.hash);
    case 'reclaim':
      return router.apply(state.reclaim(key, outcome.hash));
    case 'console':
      return router.apply(state.administer(key, outcome.request));
    case 'presence':
      return router.apply([outcome.pair === undefined ? { kind: 'presence', username: outcome.username } : { kind: 'presence', username: outcome.username, pair: outcome.pair }]);
    case 'away':
      return router.apply(state.setAway(key, outcome.on));
    case 'inbox-acked':
      return router.onInboxAcked?.(outcome.username, outcome.upto);
    case 'blocks': {
      // This node's devices of the account (the others' nodes do theirs): the worker filters by it.
      const blocked = new Set(outcome.blocked);
      for (const k of router.localSessionsOfUser(outcome.username)) {
        const extras = router.extrasOf(k);
        if (!extras || extras.tokenHash === null) continue;
        extras.blocked = blocked;
        router.refresh(k);
      }
      return;
    }
  }
}
