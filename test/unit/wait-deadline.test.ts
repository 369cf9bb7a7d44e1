import assert from 'node:assert/strict';
import type net from 'node:net';
import { mock, test } from 'node:test';
import { WaitDeadline } from '../../src/supervisor/wait-deadline';
import { WaitingList } from '../../src/supervisor/waiting-list';

/**
 * The time bound on waiting for a worker (--worker-wait-ms), with the clock in hand: a client
 * is refused once it has waited the bound while no worker became ready, all the clients due at
 * once in one batch, oldest first; a line of clients kept moving by workers that keep coming up
 * (dedicated placement under a burst) is not refused however long its last one waits.
 */

const BOUND = 1000;

function setup(bound = (): number => BOUND) {
  const list = new WaitingList();
  const batches: string[][] = [];
  const deadline = new WaitDeadline(list, bound, (late) => batches.push(late.map((s) => (s as unknown as { name: string }).name)));
  /** A client starts waiting now. */
  const wait = (name: string): void => {
    list.push({ name } as unknown as net.Socket);
    deadline.arm();
  };
  return { list, deadline, batches, wait };
}

test('a client is refused once it has waited the bound with no worker ready; those due together in one batch, the rest later', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const { list, batches, wait } = setup();
    wait('a');
    wait('b');
    mock.timers.tick(300);
    wait('c');
    mock.timers.tick(BOUND - 300 - 1);
    assert.deepEqual(batches, [], 'not before the bound');
    mock.timers.tick(1);
    assert.deepEqual(batches, [['a', 'b']], 'the two due at once, in one batch, oldest first');
    mock.timers.tick(299);
    assert.deepEqual(batches, [['a', 'b']]);
    mock.timers.tick(1);
    assert.deepEqual(batches, [['a', 'b'], ['c']], 'the timer was set again for the next oldest');
    assert.equal(list.length, 0);
  } finally {
    mock.timers.reset();
  }
});

test('dedicated burst: while workers keep becoming ready no one is refused, however long the line waits; a stall refuses', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const { list, deadline, batches, wait } = setup();
    for (let i = 0; i < 20; i++) wait(`c${i}`);
    // A process comes up every 600 ms and takes the head of the line: 20 starts, 12 s.
    for (let i = 0; i < 19; i++) {
      mock.timers.tick(600);
      deadline.progressed();
      list.shift();
    }
    assert.deepEqual(batches, [], 'the line moved: nobody refused, though the last waited 11.4 s');
    // Then starts stop (a crash loop): the last client goes after the bound without progress.
    mock.timers.tick(BOUND - 1);
    assert.deepEqual(batches, []);
    mock.timers.tick(1);
    assert.deepEqual(batches, [['c19']]);
  } finally {
    mock.timers.reset();
  }
});

test('a reload that shortens the bound applies to the clients already waiting', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    let bound = 10_000;
    const { deadline, batches, wait } = setup(() => bound);
    wait('a');
    mock.timers.tick(2000);
    bound = 1500;
    deadline.rearm();
    mock.timers.tick(0);
    assert.deepEqual(batches, [['a']], 'past the new bound: refused at once');
    wait('b');
    deadline.stop();
    mock.timers.tick(5000);
    assert.deepEqual(batches, [['a']], 'a stopped deadline refuses no one (the stop refuses them as shutting down)');
  } finally {
    mock.timers.reset();
  }
});

test('a client placed again after a worker failed it keeps its first wait start: it heads the line and is due first', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const { list, deadline, batches, wait } = setup();
    const admittedAt = Date.now();
    // 'a' was handed to a worker at once; 'b' came later and waits (no worker ready now).
    mock.timers.tick(200);
    wait('b');
    mock.timers.tick(300);
    // The worker died without taking 'a': it waits again, from its admission 500 ms ago.
    list.push({ name: 'a' } as unknown as net.Socket, admittedAt);
    deadline.rearm();
    assert.equal(list.longestWait(), 500, 'the head is the one placed again');
    mock.timers.tick(BOUND - 500 - 1);
    assert.deepEqual(batches, []);
    mock.timers.tick(1);
    assert.deepEqual(batches, [['a']], '--worker-wait-ms counted from its first admission, not from its placement again');
    mock.timers.tick(200);
    assert.deepEqual(batches, [['a'], ['b']]);
  } finally {
    mock.timers.reset();
  }
});
