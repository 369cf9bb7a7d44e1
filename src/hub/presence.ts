import type { SessionKey } from '../core/effects';
import type { Presence } from '../protocol/messages';
import { foldName } from '../protocol/rules';
import type { ContactProfile } from '../store/contact-store';
import type { HubContext } from './services';

/**
 * The one-word presence (docs/PROTOCOL.md, "Presence objects"): `offline` when no device is
 * logged in; else `dnd` when do-not-disturb is on; else `away` when the account marked itself
 * away; else `online`. Shared by the contacts' Presence objects and the `presence` reply.
 */
export function presenceState(online: boolean, dnd: boolean, away: boolean): Presence['state'] {
  return !online ? 'offline' : dnd ? 'dnd' : away ? 'away' : 'online';
}

/**
 * Live presence (docs/PROTOCOL.md, "Devices, contacts and presence"). Online and away are the
 * chat state's (replicated: every node knows them); status and do-not-disturb are the store's.
 * When an account's presence changes (a `presence` effect of the state, or a `presence`
 * outcome after a store change), each node tells its OWN sessions: the logged-in devices of
 * the accounts that have the user among their contacts, except where either side blocked the
 * other. A cluster needs nothing more: every replica applies the change and serves its own.
 * Pushes read the presence as it is when they are sent, one after another per node, so the
 * last push a watcher gets is the presence as it ended up.
 */
export class PresenceService {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: HubContext) {}

  /** The presence of `username` (as stored) from its profile; `hidden`: shown offline with no status (blocks). */
  presenceOf(profile: ContactProfile, hidden = false): Presence {
    const { state } = this.ctx.router;
    const online = !hidden && state.isOnline(profile.username);
    const dnd = !hidden && profile.dnd;
    const status = presenceState(online, dnd, state.isAway(profile.username));
    return { username: profile.username, online, state: status, status: hidden ? '' : profile.status, dnd };
  }

  /** The contact list of `username` with each contact's presence; a contact blocked either way shows offline. */
  async contactsOf(username: string): Promise<Presence[]> {
    const { store } = this.ctx;
    const [profiles, blocked, blockers] = await Promise.all([store.contactProfiles(username), store.blockedBy(username), store.blockersOf(username)]);
    const hidden = new Set([...blocked, ...blockers].map(foldName));
    return profiles.map((p) => this.presenceOf(p, hidden.has(foldName(p.username))));
  }

  /** Sends the contact list to session `key` (logged in as `username`). */
  async sendContacts(key: SessionKey, username: string): Promise<void> {
    const contacts = await this.contactsOf(username);
    this.ctx.router.sendTo(key, { type: 'contacts', contacts });
  }

  /** The presence of `username` changed: its watchers' devices on this node are told (queued; never throws). */
  changed(username: string): void {
    // Nobody here to tell (a cluster node replaying its log at start): no store reads.
    if (!this.ctx.router.hasLocalSessions()) return;
    this.queue = this.queue
      .then(() => this.push(username))
      .catch((err: Error) => this.ctx.log.error({ err, username }, 'pushing a presence change failed'));
  }

  /** Resolves once the pushes queued so far are sent (tests, shutdown). */
  settled(): Promise<void> {
    return this.queue;
  }

  private async push(username: string): Promise<void> {
    const { router, store } = this.ctx;
    const watchers = await store.watchersOf(username);
    const local = watchers.map((w) => ({ w, keys: router.localSessionsOfUser(w) })).filter((x) => x.keys.length > 0);
    if (local.length === 0) return;
    const [account, blocked, blockers] = await Promise.all([store.getAccount(username), store.blockedBy(username), store.blockersOf(username)]);
    if (!account) return;
    const hidden = new Set([...blocked, ...blockers].map(foldName));
    const to = local.filter((x) => !hidden.has(foldName(x.w))).flatMap((x) => x.keys);
    if (to.length === 0) return;
    const presence = this.presenceOf({ username: account.username, status: account.status, dnd: account.dnd });
    router.apply([{ kind: 'deliver', to, message: { type: 'presencechange', ...presence } }]);
  }
}
