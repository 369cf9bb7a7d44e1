import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { PresenceEntry } from '../protocol/messages';
import { foldName } from '../protocol/rules';
import type { DirectMessages } from './direct-messages';
import type { PresenceService } from './presence';
import { RequestRefused, requireLogin, type HubContext } from './services';

/** block/unblock, do-not-disturb, the status line, and presence queries. */
export class Profiles {
  constructor(
    private readonly ctx: HubContext,
    private readonly directs: DirectMessages,
    private readonly presenceService: PresenceService,
  ) {}

  /**
   * Blocks a registered account or a connected client's identity (a guest who spams); not
   * oneself (NOT_ALLOWED: it would hide one's own messages), not a name nobody has
   * (NO_SUCH_USER). Unblocks a name on the list, whoever has it now; another: NO_SUCH_USER.
   */
  async block(key: SessionKey, user: string, on: boolean): Promise<void> {
    const username = requireLogin(this.ctx, key);
    const { store } = this.ctx;
    const account = await store.getAccount(user);
    if (on) {
      if (foldName(user) === foldName(username)) throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'you cannot block yourself');
      if (!account && !this.ctx.router.state.identityInUse(user)) throw new RequestRefused(ErrorCode.NO_SUCH_USER, `no registered user or connected client ${user}`);
      await store.block(username, user);
    } else {
      if (!(await store.blockedBy(username)).some((b) => foldName(b) === foldName(user))) throw new RequestRefused(ErrorCode.NO_SUCH_USER, `${user} is not on your block list`);
      await store.unblock(username, user);
    }
    const blocked = await this.ctx.store.blockedBy(username);
    // Every device of the account, on every node: the worker filters room messages by sender.
    await this.ctx.decide(key, { type: 'blocks', username, blocked });
    this.ctx.router.sendTo(key, { type: 'blocklist', users: [...blocked].sort() });
    // Presence goes both ways: the blocked account no longer sees this one, nor this one it (a
    // guest has no contacts: nobody to tell).
    if (account) await this.ctx.decide(key, { type: 'presence', username, pair: account.username });
  }

  /** The requester's whole block list, sorted, as `block` and `unblock` answer it; a guest: NOT_LOGGED_IN. */
  async blocklist(key: SessionKey): Promise<void> {
    const username = requireLogin(this.ctx, key);
    const blocked = await this.ctx.store.blockedBy(username);
    this.ctx.router.sendTo(key, { type: 'blocklist', users: [...blocked].sort() });
  }

  async setDnd(key: SessionKey, on: boolean): Promise<void> {
    const username = requireLogin(this.ctx, key);
    await this.ctx.store.setDnd(username, on);
    await this.sendProfile(key, username);
    await this.ctx.decide(key, { type: 'presence', username });
    // What waited while it was on comes now (to each device here), paced like a login's delivery.
    if (!on) await this.directs.fillAll(username);
  }

  async setStatus(key: SessionKey, text: string): Promise<void> {
    const username = requireLogin(this.ctx, key);
    await this.ctx.store.setStatus(username, text);
    await this.sendProfile(key, username);
    await this.ctx.decide(key, { type: 'presence', username });
  }

  /**
   * One entry per name asked, in its asked spelling; a name that is neither an account nor
   * connected: NO_SUCH_USER, no entries. `state` follows the contacts' Presence rule
   * (presenceState), so away shows here too. A name blocked by the asker, or that blocked it,
   * shows as the contact list shows it: offline with no status (PresenceService.hiddenFrom).
   */
  async presence(key: SessionKey, users: string[]): Promise<void> {
    const { state } = this.ctx.router;
    // A guest asks by its identity: an account may have blocked that name.
    const view = state.view(key);
    const asker = view?.username ?? view?.identity;
    const hidden = asker === undefined ? new Set<string>() : await this.presenceService.hiddenFrom(asker);
    const entries: PresenceEntry[] = [];
    const unknown: string[] = [];
    for (const username of users) {
      const account = await this.ctx.store.getAccount(username);
      if (!account && !state.identityInUse(username)) unknown.push(username);
      const secret = hidden.has(foldName(username));
      const entry = account ? this.presenceService.presenceOf(account, secret) : this.presenceService.guestPresenceOf(username, secret);
      entries.push({ ...entry, username });
    }
    if (unknown.length > 0) throw new RequestRefused(ErrorCode.NO_SUCH_USER, `no registered user or connected client: ${unknown.join(', ')}`);
    this.ctx.router.sendTo(key, { type: 'presence', users: entries });
  }

  private async sendProfile(key: SessionKey, username: string): Promise<void> {
    const account = await this.ctx.store.getAccount(username);
    if (!account) return;
    const inbox = await this.directs.waiting(username);
    this.ctx.router.sendTo(key, { type: 'profile', username, status: account.status, dnd: account.dnd, inbox });
  }
}
