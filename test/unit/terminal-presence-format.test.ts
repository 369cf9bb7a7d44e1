import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPresenceLine } from '../../src/client/terminal/presence-format';
import { sanitize } from '../../src/client/terminal/display-text';

/** The terminal client's lines for contacts, presence changes and search results (it does not parse them as known types). */
test('contacts, presencechange and search become readable lines; an empty contact list says nothing', () => {
  const line = (m: object): string[] | null => formatPresenceLine((m as { type: string }).type, JSON.stringify(m), sanitize);
  assert.deepEqual(line({ type: 'contacts', contacts: [] }), []);
  assert.deepEqual(
    line({ type: 'contacts', contacts: [{ username: 'bob', online: true, state: 'away', status: 'lunch', dnd: false }, { username: 'cy', online: false, state: 'offline', status: '', dnd: false }] }),
    ['Contacts: bob (away "lunch"), cy (offline)'],
  );
  assert.deepEqual(line({ type: 'presencechange', username: 'bob', online: true, state: 'dnd', status: '', dnd: true }), ['bob (dnd) is now dnd']);
  assert.deepEqual(line({ type: 'search', prefix: 'bo', users: ['bob', 'boris'] }), ['Users matching bo: bob, boris']);
  assert.deepEqual(line({ type: 'search', prefix: 'zz', users: [] }), ['Users matching zz: none']);
  assert.equal(line({ type: 'roominfo' }), null, 'other types are not this formatter\'s');
  // Control characters in a status are made terminal-safe.
  const [shown] = line({ type: 'presencechange', username: 'bob', online: true, state: 'online', status: 'x\u001b[2Jy', dnd: false })!;
  assert.ok(!shown!.includes('\u001b'), JSON.stringify(shown));
});
