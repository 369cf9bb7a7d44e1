import assert from 'node:assert/strict';
import type net from 'node:net';
import { mock, test } from 'node:test';
import type { Child } from '../../src/supervisor/child';
import { DedicatedPlacement } from '../../src/supervisor/dedicated-placement';
import type { PlacementHost } from '../../src/supervisor/placement';

/**
 * The spare policy of dedicated placement, with a fake supervisor and the clock in hand:
 * spares grow with the arrivals of the last second up to maxSpares, starts run at most
 * maxStarting at once, and after a quiet spell the extra spares are told to stop.
 */

interface FakeWorker {
  id: number;
  sent: string[];
  send(msg: { type: string }): void;
}

function setup(limits: { minSpares: number; maxSpares: number; maxProcesses: number; maxStarting: number }) {
  const started: FakeWorker[] = [];
  const handed: Array<[number, net.Socket]> = [];
  const host: PlacementHost = {
    stopping: false,
    spawnWorker: () => {
      const w: FakeWorker = { id: started.length + 1, sent: [], send: (m) => w.sent.push(m.type) };
      started.push(w);
      return w as unknown as Child;
    },
    handOff: (worker, socket) => handed.push([(worker as unknown as FakeWorker).id, socket]),
  };
  const placement = new DedicatedPlacement(host, limits);
  /** Reports every started worker not yet ready as ready. */
  const readyAll = (): void => {
    for (let i = 0; i < 50; i++) {
      const pending = started.filter((w) => !(w as unknown as { ready?: boolean }).ready);
      if (pending.length === 0) return;
      for (const w of pending) {
        (w as unknown as { ready: boolean }).ready = true;
        placement.onReady(w as unknown as Child);
      }
    }
  };
  return { placement, started, handed, readyAll };
}

const socket = (): net.Socket => ({}) as net.Socket;

test('spares: minSpares at start; each arrival of the last second adds one, up to maxSpares; starts at most maxStarting at once', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const { placement, started, handed, readyAll } = setup({ minSpares: 2, maxSpares: 5, maxProcesses: 100, maxStarting: 2 });
    const ready = placement.start();
    assert.equal(started.length, 2);
    readyAll();
    await ready;

    // Three arrivals within the second: each takes a spare; the target becomes 2 + 3 = 5.
    for (let i = 0; i < 3; i++) {
      assert.equal(placement.place(socket()), true);
      mock.timers.tick(100);
    }
    assert.ok(started.length - 2 <= 2 * 3, 'no more starts than asked for');
    readyAll();
    const idle = (): number => placement.workers().length - handed.length;
    assert.equal(handed.length, 3);
    assert.equal(idle(), 5, 'the spares grew to minSpares + 3 arrivals');

    // More arrivals cannot push the idle count past maxSpares.
    for (let i = 0; i < 6; i++) placement.place(socket());
    readyAll();
    assert.equal(idle(), 5, 'capped at maxSpares');

    // A quiet spell: the arrivals leave the window and, after the retire delay, the idle
    // processes above minSpares are told to stop.
    const before = started.length;
    mock.timers.tick(10_000);
    const told = started.filter((w) => w.sent.includes('shutdown'));
    assert.equal(told.length, 3, 'the 3 spares above minSpares stop');
    assert.equal(placement.workers().length, handed.length + 5, 'retiring ones are still counted until they exit');
    for (const w of told) placement.onExit(w as unknown as Child, 20_000);
    assert.equal(placement.workers().length - handed.length, 2);
    assert.equal(started.length, before, 'no start replaced a retired spare');
  } finally {
    mock.timers.reset();
  }
});

test('starts run at most maxStarting at once, and clients waiting for a process are served first', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 2_000_000 });
  try {
    const { placement, started, handed } = setup({ minSpares: 0, maxSpares: 4, maxProcesses: 100, maxStarting: 2 });
    void placement.start();
    assert.equal(started.length, 0);
    for (let i = 0; i < 5; i++) placement.place(socket());
    assert.equal(started.length, 2, 'two starts at once');
    placement.onReady(started[0] as unknown as Child);
    assert.deepEqual(handed.map(([id]) => id), [1], 'the first ready process goes to the first waiting client');
    assert.equal(started.length, 3, 'a freed start slot starts the next');
  } finally {
    mock.timers.reset();
  }
});
