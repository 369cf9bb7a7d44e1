import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import { foldName } from '../protocol/rules';
import { AccountRateLimiter } from './account-rate-limit';
import { requireAccount } from './names';
import type { PresenceService } from './presence';
import { RequestRefused, requireLogin, type HubContext } from './services';

/** Results of one `search`, at most (docs/PROTOCOL.md). */
export const MAX_SEARCH_RESULTS = 20;

/** The bounds of contact lists and searches (a subset of Config). */
export interface ContactLimits {
  /** Accounts one contact list holds (`maxContacts`). */
  maxContacts: number;
  /** Searches a second per account (`searchRateLimit`); the burst is five times that. */
  searchRateLimit: number;
}

/** `contacts` add/remove/list, `search` of usernames by prefix, and `away`. */
export class Contacts {
  private readonly searchRate: AccountRateLimiter;

  constructor(
    private readonly ctx: HubContext,
    private readonly presence: PresenceService,
    private readonly limits: ContactLimits,
  ) {
    this.searchRate = new AccountRateLimiter(limits.searchRateLimit, Math.max(1, Math.ceil(limits.searchRateLimit * 5)));
  }

  /**
   * Changes or lists the account's contacts; answered with the whole list and each contact's
   * presence. add: a registered account (NO_SUCH_USER), not oneself (NOT_ALLOWED), within
   * `maxContacts` (TOO_MANY_CONTACTS); remove: one on the list (NO_SUCH_USER).
   */
  async contacts(key: SessionKey, action: 'add' | 'remove' | 'list', name: string | undefined): Promise<void> {
    const username = requireLogin(this.ctx, key);
    const { store } = this.ctx;
    if (action !== 'list') {
      if (name === undefined) throw new RequestRefused(ErrorCode.INVALID_FIELD, `contacts: ${action} needs "username"`);
      const contact = (await requireAccount(this.ctx, name)).username;
      if (action === 'add') {
        if (foldName(contact) === foldName(username)) throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'you cannot add yourself to your contacts');
        const added = await store.addContact(username, contact, this.limits.maxContacts, Date.now());
        if (added === 'full') throw new RequestRefused(ErrorCode.TOO_MANY_CONTACTS, `your contact list holds ${this.limits.maxContacts} accounts already; remove some first`);
      } else if (!(await store.removeContact(username, contact))) {
        throw new RequestRefused(ErrorCode.NO_SUCH_USER, `${name} is not in your contacts`);
      }
    }
    await this.presence.sendContacts(key, username);
  }

  /** Registered usernames starting with `prefix` (any case), at most MAX_SEARCH_RESULTS; rate-limited per account. */
  async search(key: SessionKey, prefix: string): Promise<void> {
    const username = requireLogin(this.ctx, key);
    if (!this.searchRate.allows(username, Date.now())) {
      throw new RequestRefused(ErrorCode.RATE_LIMITED, `over ${this.limits.searchRateLimit} searches a second for this account; try again shortly`);
    }
    const users = await this.ctx.store.searchUsernames(prefix, MAX_SEARCH_RESULTS);
    this.ctx.router.sendTo(key, { type: 'search', prefix, users });
  }

  /** Marks the account away or back: replicated (a cluster's log), and its contacts are told. */
  async away(key: SessionKey, on: boolean): Promise<void> {
    requireLogin(this.ctx, key);
    await this.ctx.decide(key, { type: 'away', on });
  }

  /** Forgets accounts whose search budget has refilled. */
  sweep(now: number): void {
    this.searchRate.sweep(now);
  }
}
