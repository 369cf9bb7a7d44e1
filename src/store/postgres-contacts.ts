import type { QueryResult, QueryResultRow } from 'pg';
import { prefixRange, type AddContactResult } from './contact-store';
import { SQL } from './postgres-statements';

type Query = <R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]) => Promise<QueryResult<R>>;

const folded = 'lower(username COLLATE "C")';

/**
 * The contact statements of the PostgreSQL store (migration 4). The insert counts the list in
 * the same statement; `addContactPg` runs it under the owner's row lock, as two adds counting
 * the same list at once would each see room and pass `max` together.
 */
export const CONTACT_SQL = {
  add: `INSERT INTO contacts (username, contact, added_at)
        SELECT $1, $2, $3 WHERE (SELECT count(*) FROM contacts WHERE username = $1) < $4
        ON CONFLICT DO NOTHING`,
  has: 'SELECT 1 FROM contacts WHERE username = $1 AND contact = $2',
  remove: 'DELETE FROM contacts WHERE username = $1 AND contact = $2',
  list: 'SELECT contact FROM contacts WHERE username = $1 ORDER BY contact',
  watchers: 'SELECT username FROM contacts WHERE contact = $1 ORDER BY username',
  blockers: 'SELECT username FROM blocks WHERE lower(blocked COLLATE "C") = lower($1::text COLLATE "C") ORDER BY username',
  profiles: `SELECT a.username, a.status, a.dnd FROM contacts c JOIN accounts a ON a.username = c.contact WHERE c.username = $1 ORDER BY a.username`,
  // The unique index on the folded name serves the range.
  search: `SELECT username FROM accounts WHERE ${folded} >= $1 AND ${folded} < $2 ORDER BY ${folded}, username LIMIT $3`,
} as const;

/**
 * Adds `contact` to the list of `username` within `max` names. `query` must run in one
 * transaction (READ COMMITTED): the owner's account row is locked first, so adds to one list,
 * from any node, count it one after the other, each seeing the rows the one before committed.
 */
export async function addContactPg(query: Query, username: string, contact: string, max: number, at: number): Promise<AddContactResult> {
  await query(SQL.lockAccount, [username]);
  if ((await query(CONTACT_SQL.add, [username, contact, at, max])).rowCount === 1) return 'added';
  return (await query(CONTACT_SQL.has, [username, contact])).rowCount ? 'present' : 'full';
}

export async function searchUsernamesPg(query: Query, prefix: string, limit: number): Promise<string[]> {
  const range = prefixRange(prefix);
  if (!range || limit <= 0) return [];
  return (await query<{ username: string }>(CONTACT_SQL.search, [range.from, range.to, Math.floor(limit)])).rows.map((r) => r.username);
}
