import type { SessionKey } from '../core/effects';
import type { PresenceEntry } from '../protocol/messages';
import type { DirectMessages } from './direct-messages';
import { requireLogin, type HubContext } from './services';

/** block/unblock, do-not-disturb, the status line, and presence queries. */
export class Profiles {
  constructor(
    private readonly ctx: HubContext,
    private readonly directs: DirectMessages,
  ) {}

  async block(key: SessionKey, user: string, on: boolean): Promise<void> {
    const username = requireLogin(this.ctx, key);
    if (on) await this.ctx.store.block(username, user);
    else await this.ctx.store.unblock(username, user);
    const extras = this.ctx.router.extrasOf(key);
    if (extras) {
      extras.blocked = new Set(await this.ctx.store.blockedBy(username));
      // The worker filters room messages by sender; it needs the new list.
      this.ctx.router.refresh(key);
      this.ctx.router.sendTo(key, { type: 'blocklist', users: [...extras.blocked].sort() });
    }
  }

  async setDnd(key: SessionKey, on: boolean): Promise<void> {
    const username = requireLogin(this.ctx, key);
    await this.ctx.store.setDnd(username, on);
    await this.sendProfile(key, username);
    // What waited while it was on comes now, paced like a login's delivery.
    if (!on) await this.directs.fill(key);
  }

  async setStatus(key: SessionKey, text: string): Promise<void> {
    const username = requireLogin(this.ctx, key);
    await this.ctx.store.setStatus(username, text);
    await this.sendProfile(key, username);
  }

  async presence(key: SessionKey, users: string[]): Promise<void> {
    const { state } = this.ctx.router;
    const entries: PresenceEntry[] = [];
    for (const username of users) {
      const account = await this.ctx.store.getAccount(username);
      const online = account ? state.sessionOfUser(username) !== undefined : state.identityInUse(username);
      entries.push({ username, online, status: account?.status ?? '', dnd: account?.dnd ?? false });
    }
    this.ctx.router.sendTo(key, { type: 'presence', users: entries });
  }

  private async sendProfile(key: SessionKey, username: string): Promise<void> {
    const account = await this.ctx.store.getAccount(username);
    if (!account) return;
    const inbox = await this.directs.waiting(username);
    this.ctx.router.sendTo(key, { type: 'profile', username, status: account.status, dnd: account.dnd, inbox });
  }
}
