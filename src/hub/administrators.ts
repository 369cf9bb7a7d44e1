import type { Store } from '../store/store';

/**
 * Who is a server administrator: the usernames of the `admins` setting, and the accounts granted
 * the role in the store (`switchboard admin grant`). Asked at each login, so a grant or revoke
 * made by the CLI beside a running server applies from the account's next login.
 */
export class Administrators {
  private readonly configured: ReadonlySet<string>;

  constructor(
    private readonly store: Store,
    configured: readonly string[],
  ) {
    this.configured = new Set(configured);
  }

  async isAdmin(username: string): Promise<boolean> {
    return this.configured.has(username) || (await this.store.isAdmin(username));
  }
}
