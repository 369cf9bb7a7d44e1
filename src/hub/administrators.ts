import { foldName } from '../protocol/rules';
import type { Store } from '../store/store';

/**
 * Who is a server administrator: the usernames of the `admins` setting, and the accounts granted
 * the role in the store (`switchboard admin grant`). Asked at each login, so a grant or revoke
 * made by the CLI beside a running server applies from the account's next login.
 */
export class Administrators {
  private configured: ReadonlySet<string>;

  constructor(
    private readonly store: Store,
    configured: readonly string[],
  ) {
    this.configured = new Set(configured.map(foldName));
  }

  /**
   * The `admins` setting as reloaded; true when it names other accounts than before. Stored
   * grants are untouched.
   */
  setConfigured(configured: readonly string[]): boolean {
    const next = new Set(configured.map(foldName));
    const changed = next.size !== this.configured.size || [...next].some((n) => !this.configured.has(n));
    this.configured = next;
    return changed;
  }

  /** Usernames compare in any case, as they do everywhere. */
  async isAdmin(username: string): Promise<boolean> {
    return this.configured.has(foldName(username)) || (await this.store.isAdmin(username));
  }
}
