/**
 * Lines for the contacts and presence messages (docs/PROTOCOL.md, "Devices, contacts and
 * presence"), which the terminal client does not parse as known types: the contact list a
 * login brings (nothing when empty), live presence changes, and search results. Null for any
 * other type (shown as it came). Names and statuses are made terminal-safe by `sanitize`.
 */
export function formatPresenceLine(type: string, line: string, sanitize: (text: string) => string): string[] | null {
  if (type !== 'contacts' && type !== 'presencechange' && type !== 'search') return null;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  const describe = (p: Record<string, unknown>): string => {
    const status = typeof p.status === 'string' && p.status !== '' ? ` "${p.status}"` : '';
    return `${String(p.username)} (${String(p.state)}${status})`;
  };
  if (type === 'contacts' && Array.isArray(m.contacts)) {
    return m.contacts.length === 0 ? [] : [sanitize(`Contacts: ${(m.contacts as Array<Record<string, unknown>>).map(describe).join(', ')}`)];
  }
  if (type === 'presencechange') return [sanitize(`${describe(m)} is now ${String(m.state)}`)];
  if (type === 'search' && Array.isArray(m.users)) return [sanitize(`Users matching ${String(m.prefix)}: ${m.users.length === 0 ? 'none' : m.users.join(', ')}`)];
  return null;
}
