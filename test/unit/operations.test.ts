import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeFlags, loadConfig } from '../../src/config/load';
import { planReload, reloadabilityOf } from '../../src/config/reload';
import { ConfigSchema, type ConfigKey } from '../../src/config/schema';
import { decodeEntry, encodeEntry } from '../../src/cluster/entries';
import { ChatState } from '../../src/core/chat-state';
import { CONSOLE_IDENTITY } from '../../src/core/console';
import { isValidIdentity } from '../../src/protocol/rules';
import { inboxes } from '../helpers/effects';

/**
 * The pure parts of operating a running server: which settings a reload applies, the
 * operator's requests as ChatState decides them, and their cluster log entry.
 */

const load = (argv: string[]) => loadConfig({ argv, env: {}, cwd: '/srv', nodeId: 'n1' });

describe('reload plan', () => {
  test('live settings change, restart-only ones are kept and listed', () => {
    const current = load(['--port', '4444', '--rate-limit', '20', '--admins', 'root', '--workers', '2']);
    const next = load(['--port', '5555', '--rate-limit', '5', '--admins', 'root,alice', '--workers', '3']);
    const plan = planReload(current, next);
    assert.deepEqual(plan.applied.map((c) => [c.flag, c.from, c.to]), [['--rate-limit', 20, 5], ['--admins', ['root'], ['root', 'alice']]]);
    assert.deepEqual(plan.ignored.map((c) => [c.flag, c.from, c.to]), [['--port', 4444, 5555], ['--workers', 2, 3]]);
    assert.equal(plan.config.port, 4444);
    assert.equal(plan.config.rateLimit, 5);
    assert.deepEqual(plan.config.admins, ['root', 'alice']);
    assert.ok(Object.isFrozen(plan.config));
  });

  test('the same configuration read again changes nothing (the node id is kept)', () => {
    const plan = planReload(load([]), load([]));
    assert.deepEqual([plan.applied, plan.ignored], [[], []]);
  });

  test('every setting says in help whether a reload applies it', () => {
    const keys = Object.keys(ConfigSchema.properties) as ConfigKey[];
    const lines = describeFlags();
    for (const key of keys) {
      const mark = `(reload: ${reloadabilityOf(key)})`;
      assert.ok(lines.some((l) => l.startsWith(`  --${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} `) && l.endsWith(mark)), key);
    }
    for (const key of ['rateLimit', 'rateBurst', 'maxClients', 'maxLineBytes', 'maxContentLength', 'idleTimeoutMs', 'maxOutboundBytes', 'admins'] as const) assert.equal(reloadabilityOf(key), 'live', key);
    for (const key of ['port', 'host', 'dataDir', 'store', 'placement', 'workers', 'cluster', 'maxRoomsPerOwner'] as const) assert.equal(reloadabilityOf(key), 'restart', key);
  });
});

describe('console requests in ChatState', () => {
  function scene() {
    const state = new ChatState({ maxRoomsPerOwner: Infinity }, () => 1000);
    for (const key of ['w:1', 'w:2', 'w:3']) state.connect(key);
    state.request('w:1', { type: 'identitychange', identity: 'owner' });
    state.request('w:2', { type: 'identitychange', identity: 'bob' });
    state.reserve(['root']);
    state.login('w:3', 'root', { type: 'error', code: 'SESSION_REPLACED', message: '' }, true);
    state.request('w:1', { type: 'createroom', roomid: 'Den' });
    state.request('w:1', { type: 'join', roomid: 'Den' });
    state.request('w:2', { type: 'join', roomid: 'Den' });
    return state;
  }

  test('the console is no possible identity', () => {
    assert.equal(isValidIdentity(CONSOLE_IDENTITY), false);
  });

  test('notice: every session, from the console; the console itself is no session', () => {
    const state = scene();
    const got = inboxes(state.administer('0:1', { type: 'notice', content: 'hi' }));
    for (const key of ['w:1', 'w:2', 'w:3']) assert.deepEqual(got.get(key), [{ type: 'notice', from: CONSOLE_IDENTITY, content: 'hi', ts: 1000 }]);
    assert.equal(got.has('0:1'), false);
    assert.equal(state.has('0:1'), false);
    assert.equal(state.sessionCount, 3);
  });

  test('disconnect: the named client is told and leaves; the console hears `disconnected`; an administrator is not disconnected', () => {
    const state = scene();
    const got = inboxes(state.administer('0:1', { type: 'disconnect', identity: 'bob', reason: 'spam' }));
    assert.equal(got.get('w:2')![0]!.type, 'error');
    assert.deepEqual(got.get('0:1'), [{ type: 'disconnected', identity: 'bob', by: CONSOLE_IDENTITY, reason: 'spam' }]);
    assert.equal(state.has('w:2'), false);
    const admin = inboxes(state.administer('0:2', { type: 'disconnect', identity: 'root' }));
    assert.equal((admin.get('0:2')![0] as { code?: string }).code, 'NOT_ALLOWED');
    assert.equal(state.has('w:3'), true);
  });

  test('delete: a room its owner did not delete closes, its members go to MainHall', () => {
    const state = scene();
    state.administer('0:1', { type: 'delete', roomid: 'Den' });
    assert.equal(state.ownerOf('Den'), undefined);
    assert.equal(state.roomOf('w:1'), 'MainHall');
    assert.equal(state.roomOf('w:2'), 'MainHall');
    assert.equal(state.roomCount, 1);
  });
});

describe('console outcome in the cluster log', () => {
  const entry = (request: object) => encodeEntry({ pid: 'p1', ts: 1, type: 'outcome', key: 'node1/0:7', outcome: { type: 'console', request } as never });

  test('the administrator requests are carried', () => {
    for (const request of [{ type: 'notice', content: 'hi' }, { type: 'disconnect', identity: 'bob', reason: 'x' }, { type: 'delete', roomid: 'Den' }]) {
      assert.deepEqual((decodeEntry(entry(request)) as { outcome: unknown }).outcome, { type: 'console', request });
    }
  });

  test('anything else is refused', () => {
    for (const request of [{ type: 'kick', roomid: 'Den', identity: 'bob' }, { type: 'notice' }, { type: 'delete', roomid: 5 }, null]) {
      assert.throws(() => decodeEntry(entry(request as object)), /bad outcome/);
    }
  });
});
