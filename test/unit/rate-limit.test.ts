import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLOOD_WINDOW_MS, MessageRateGuard, TokenBucket } from '../../src/core/rate-limit';
import { AccountRateLimiter } from '../../src/hub/account-rate-limit';
import { AddressLimit, normalizeAddress } from '../../src/supervisor/address-limit';

describe('TokenBucket', () => {
  test('starts full: a burst passes, the next is refused', () => {
    const b = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) assert.equal(b.take(0), true, `take ${i}`);
    assert.equal(b.take(0), false);
  });

  test('refills at the rate, never above the burst', () => {
    const b = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) b.take(0);
    assert.equal(b.take(50), false, 'half a token after 50 ms');
    assert.equal(b.take(100), true, 'one token after 100 ms');
    assert.equal(b.take(100), false);
    // A long pause refills to the burst, not beyond.
    for (let i = 0; i < 5; i++) assert.equal(b.take(60_000), true);
    assert.equal(b.take(60_000), false);
  });

  test('a refused take takes nothing', () => {
    const b = new TokenBucket(1, 3, 0);
    assert.equal(b.take(0, 2), true);
    assert.equal(b.take(0, 2), false);
    assert.equal(b.take(0, 1), true, 'the one left is still there');
  });

  test('fractional rates work (one every two seconds)', () => {
    const b = new TokenBucket(0.5, 1, 0);
    assert.equal(b.take(0), true);
    assert.equal(b.take(1999), false);
    assert.equal(b.take(2000), true);
  });

  test('time going backwards does not mint tokens', () => {
    const b = new TokenBucket(10, 1, 1000);
    assert.equal(b.take(1000), true);
    assert.equal(b.take(500), false);
    assert.equal(b.take(1000), false);
  });

  test('consume goes into debt and says how long until it is paid', () => {
    const b = new TokenBucket(1000, 2000, 0); // 1000 bytes/s, burst 2000
    assert.equal(b.consume(0, 1500), 0, 'within the burst');
    assert.equal(b.consume(0, 1500), 1000, '1000 bytes of debt at 1000/s: one second');
    assert.equal(b.consume(500, 0), 500, 'half of it paid after 500 ms');
    assert.equal(b.consume(1000, 0), 0);
  });

  test('isFull once refilled', () => {
    const b = new TokenBucket(10, 2, 0);
    assert.equal(b.isFull(0), true);
    b.take(0);
    assert.equal(b.isFull(50), false);
    assert.equal(b.isFull(100), true);
  });
});

describe('MessageRateGuard', () => {
  test('ok within the burst, limited over it, ok again after a refill', () => {
    const g = new MessageRateGuard(10, 3, 0);
    assert.deepEqual([g.check(0), g.check(0), g.check(0), g.check(0)], ['ok', 'ok', 'ok', 'limited']);
    assert.equal(g.check(100), 'ok');
  });

  test('flooding: more than burst × 4 refusals within the window', () => {
    const g = new MessageRateGuard(1, 2, 0);
    g.check(0);
    g.check(0);
    for (let i = 0; i < 8; i++) assert.equal(g.check(0), 'limited', `refusal ${i + 1}`);
    assert.equal(g.check(0), 'flooding', 'the ninth refusal within 10 s');
  });

  test('refusals spread wider than the window are not flooding', () => {
    const g = new MessageRateGuard(0.001, 1, 0, 3, FLOOD_WINDOW_MS);
    g.check(0);
    const verdicts: string[] = [];
    // One refusal every 4 s: never more than three within any 10 s.
    for (let t = 0; t <= 60_000; t += 4000) verdicts.push(g.check(t));
    assert.ok(!verdicts.includes('flooding'), verdicts.join(','));
    // Four within 10 s are.
    assert.deepEqual([g.check(61_000), g.check(62_000), g.check(63_000)].at(-1), 'flooding');
  });
});

describe('AccountRateLimiter', () => {
  test('one budget per account, burst of one second', () => {
    const l = new AccountRateLimiter(2);
    assert.deepEqual([l.allows('alice', 0), l.allows('alice', 0), l.allows('alice', 0)], [true, true, false]);
    assert.equal(l.allows('bob', 0), true, 'bob has his own');
    assert.equal(l.allows('alice', 500), true, 'one back after 500 ms at 2/s');
  });

  test('sweep forgets refilled accounts only', () => {
    const l = new AccountRateLimiter(1);
    l.allows('alice', 0);
    l.allows('bob', 900);
    l.sweep(1000);
    assert.equal(l.size, 1, 'alice refilled, bob not yet');
    l.sweep(2000);
    assert.equal(l.size, 0);
  });
});

describe('AddressLimit', () => {
  test('counts per address up to the cap; a release frees a place', () => {
    const a = new AddressLimit<string>(2);
    const c1 = a.admit('10.0.0.1');
    const c2 = a.admit('10.0.0.1');
    assert.ok(c1 !== null && c2 !== null && c1 !== c2);
    assert.equal(a.admit('10.0.0.1'), null);
    assert.notEqual(a.admit('10.0.0.2'), null, 'another address is counted apart');
    a.release(c1!);
    assert.equal(a.count('10.0.0.1'), 1);
    assert.notEqual(a.admit('10.0.0.1'), null);
  });

  test('release is idempotent: a close reported twice frees one place', () => {
    const a = new AddressLimit<string>(2);
    const c1 = a.admit('h')!;
    a.admit('h');
    a.placed(c1, 'w1');
    a.release(c1);
    a.release(c1);
    a.releaseWorker('w1');
    assert.equal(a.count('h'), 1);
  });

  test('a dead worker releases what it held, and only that', () => {
    const a = new AddressLimit<string>(10);
    const ids = [a.admit('h')!, a.admit('h')!, a.admit('h')!];
    a.placed(ids[0]!, 'w1');
    a.placed(ids[1]!, 'w1');
    a.placed(ids[2]!, 'w2');
    a.releaseWorker('w1');
    assert.equal(a.count('h'), 1);
    a.release(ids[0]!); // its session-closed arriving late changes nothing
    assert.equal(a.count('h'), 1);
  });

  test('IPv4-mapped IPv6 is the same address as plain IPv4', () => {
    assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(normalizeAddress('::1'), '::1');
    const a = new AddressLimit<string>(1);
    a.admit('::ffff:10.1.2.3');
    assert.equal(a.admit('10.1.2.3'), null);
  });
});
