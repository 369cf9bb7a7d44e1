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
 *
 * Blocks: this class alone decides who is hidden from whom (hiddenFrom) and how a hidden user
 * looks (presenceOf with `hidden`): exactly an offline user with no status, whichever side
 * blocked, so a blocked user cannot tell the block from a logout. The contact list, the pushes
 * and the `presence` reply all go through it.
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

  /**
   * A connected guest's presence (no account: online while connected, never away, no status
   * line or do-not-disturb); `hidden` as presenceOf.
   */
  guestPresenceOf(identity: string, hidden = false): Presence {
    if (hidden) return this.presenceOf({ username: identity, status: '', dnd: false }, true);
    return { username: identity, online: true, state: 'online', status: '', dnd: false };
  }

  /**
   * The names (folded: foldName) hidden from `name` and to whom `name` is hidden: those it
   * blocked and those that blocked it (an account's username or a guest's identity). Read from
   * the store, so every node of a cluster answers alike. Throws what the store throws.
   */
  async hiddenFrom(name: string): Promise<Set<string>> {
    const { store } = this.ctx;
    const [blocked, blockers] = await Promise.all([store.blockedBy(name), store.blockersOf(name)]);
    return new Set([...blocked, ...blockers].map(foldName));
  }

  /** The contact list of `username` with each contact's presence; a contact blocked either way shows offline. */
  async contactsOf(username: string): Promise<Presence[]> {
    const [profiles, hidden] = await Promise.all([this.ctx.store.contactProfiles(username), this.hiddenFrom(username)]);
    return profiles.map((p) => this.presenceOf(p, hidden.has(foldName(p.username))));
  }

  /** Sends the contact list to session `key` (logged in as `username`). */
  async sendContacts(key: SessionKey, username: string): Promise<void> {
    const contacts = await this.contactsOf(username);
    this.ctx.router.sendTo(key, { type: 'contacts', contacts });
  }

  /**
   * The presence of `username` changed: its watchers' devices on this node are told (queued;
   * never throws). `pair`: instead, a block between `username` and `pair` changed: each of the
   * two that has the other among its contacts is told the other's presence as it may see it now
   * (offline while either blocks), so it neither keeps a stale one nor waits for the next login.
   */
  changed(username: string, pair?: string): void {
    // Nobody here to tell (a cluster node replaying its log at start): no store reads.
    if (!this.ctx.router.hasLocalSessions()) return;
    const work = async (): Promise<void> => {
      if (pair === undefined) return this.push(username);
      await Promise.all([this.push(username, pair), this.push(pair, username)]);
    };
    this.queue = this.queue
      .then(work)
      .catch((err: Error) => this.ctx.log.error({ err, username }, 'pushing a presence change failed'));
  }

  /** Resolves once the pushes queued so far are sent (tests, shutdown). */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Pushes the presence of `username` to its watchers here, or to `only` (a block changed between them). */
  private async push(username: string, only?: string): Promise<void> {
    const { router, store } = this.ctx;
    const watchers = (await store.watchersOf(username)).filter((w) => only === undefined || foldName(w) === foldName(only));
    const local = watchers.map((w) => ({ w, keys: router.localSessionsOfUser(w) })).filter((x) => x.keys.length > 0);
    if (local.length === 0) return;
    const [account, hidden] = await Promise.all([store.getAccount(username), this.hiddenFrom(username)]);
    if (!account) return;
    const profile = { username: account.username, status: account.status, dnd: account.dnd };
    if (only !== undefined) {
      const presence = this.presenceOf(profile, hidden.has(foldName(only)));
      router.apply([{ kind: 'deliver', to: local.flatMap((x) => x.keys), message: { type: 'presencechange', ...presence } }]);
      return;
    }
    // A hidden watcher hears nothing: an offline user's presence does not change.
    const to = local.filter((x) => !hidden.has(foldName(x.w))).flatMap((x) => x.keys);
    if (to.length === 0) return;
    router.apply([{ kind: 'deliver', to, message: { type: 'presencechange', ...this.presenceOf(profile) } }]);
  }
}
