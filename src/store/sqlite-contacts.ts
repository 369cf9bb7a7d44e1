import type { Database, Statement, Transaction } from 'better-sqlite3';
import { prefixRange, type AddContactResult, type ContactProfile } from './contact-store';

/**
 * The contact statements of the SQLite store (migration 7), prepared once the schema is
 * current; synchronous like the driver (the store's methods wrap them).
 */
export class SqliteContacts {
  private readonly q;
  private readonly addTx: Transaction<(username: string, contact: string, max: number, at: number) => AddContactResult>;

  constructor(db: Database) {
    this.q = {
      has: db.prepare<[string, string]>('SELECT 1 FROM contacts WHERE username = ? AND contact = ?'),
      count: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM contacts WHERE username = ?'),
      add: db.prepare<[string, string, number]>('INSERT INTO contacts (username, contact, added_at) VALUES (?, ?, ?)'),
      remove: db.prepare<[string, string]>('DELETE FROM contacts WHERE username = ? AND contact = ?'),
      list: db.prepare<[string], { contact: string }>('SELECT contact FROM contacts WHERE username = ? ORDER BY contact'),
      watchers: db.prepare<[string], { username: string }>('SELECT username FROM contacts WHERE contact = ? ORDER BY username'),
      // The NOCASE index on usernames serves the range.
      search: db.prepare<[string, string, number], { username: string }>(
        'SELECT username FROM accounts WHERE username COLLATE NOCASE >= ? AND username COLLATE NOCASE < ? ORDER BY username COLLATE NOCASE, username LIMIT ?',
      ),
      blockers: db.prepare<[string], { username: string }>('SELECT username FROM blocks WHERE blocked = ? COLLATE NOCASE ORDER BY username'),
      profiles: db.prepare<[string], { username: string; status: string; dnd: number }>(
        'SELECT a.username, a.status, a.dnd FROM contacts c JOIN accounts a ON a.username = c.contact WHERE c.username = ? ORDER BY a.username',
      ),
    } satisfies Record<string, Statement<unknown[], unknown>>;
    // One transaction on the hub's single synchronous connection: nothing runs between the
    // count and the insert. IMMEDIATE takes the write lock first, so another process writing
    // the file (a CLI tool) waits its turn rather than invalidating the count.
    this.addTx = db.transaction((username: string, contact: string, max: number, at: number): AddContactResult => {
      if (this.q.has.get(username, contact)) return 'present';
      if ((this.q.count.get(username)?.n ?? 0) >= max) return 'full';
      this.q.add.run(username, contact, at);
      return 'added';
    });
  }

  addContact(username: string, contact: string, max: number, at: number): AddContactResult {
    return this.addTx.immediate(username, contact, max, at);
  }

  removeContact(username: string, contact: string): boolean {
    return this.q.remove.run(username, contact).changes > 0;
  }

  contactsOf(username: string): string[] {
    return this.q.list.all(username).map((r) => r.contact);
  }

  watchersOf(username: string): string[] {
    return this.q.watchers.all(username).map((r) => r.username);
  }

  blockersOf(username: string): string[] {
    return this.q.blockers.all(username).map((r) => r.username);
  }

  contactProfiles(username: string): ContactProfile[] {
    return this.q.profiles.all(username).map((r) => ({ username: r.username, status: r.status, dnd: r.dnd === 1 }));
  }

  searchUsernames(prefix: string, limit: number): string[] {
    const range = prefixRange(prefix);
    if (!range || limit <= 0) return [];
    return this.q.search.all(range.from, range.to, Math.floor(limit)).map((r) => r.username);
  }
}
