import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClient } from '../helpers/client';
import * as proc from '../helpers/procfs';
import { startServer } from '../helpers/server';

/**
 * Dedicated placement under a connect burst right after the start: every client is welcomed,
 * each in a process of its own, and the idle ones stay within --max-spares.
 * How fast is the bench's to say (connect-storm --placement dedicated --arrive-over 1000).
 */

const TEST_TIMEOUT = { timeout: 90_000 };
const BURST = 8;

test(`dedicated: ${BURST} clients connecting at once right after the start are all welcomed, one process each`, TEST_TIMEOUT, async () => {
  const server = await startServer({ args: ['--placement', 'dedicated', '--spares', '2', '--max-spares', '6'] });
  const clients: TestClient[] = [];
  try {
    const workersOf = (): number[] => proc.childPids(server.pid).filter((pid) => server.logs.some((l) => l.role === 'worker' && l.pid === pid));
    // Ready means the spares are up: the 2 are there before the first client.
    assert.equal(workersOf().length >= 2, true, `spares at start: ${JSON.stringify(workersOf())}`);

    const welcomed = await Promise.all(Array.from({ length: BURST }, () => TestClient.welcomed(server.port, 60_000)));
    clients.push(...welcomed.map((w) => w.client));
    assert.equal(new Set(welcomed.map((w) => w.identity)).size, BURST, 'each a name of its own');

    const holders = welcomed.map((w) => proc.pidsHoldingTcpConnection(server.port, w.client.localPort, workersOf()));
    assert.ok(holders.every((h) => h.length === 1), JSON.stringify(holders));
    assert.equal(new Set(holders.map((h) => h[0])).size, BURST, 'one worker process per client');

    // However the burst went, idle processes stay within --max-spares (the growth itself is
    // pinned, clock in hand, by test/unit/dedicated-placement.test.ts).
    const busy = new Set(holders.map((h) => h[0]!));
    const idle = workersOf().filter((pid) => !busy.has(pid)).length;
    assert.ok(idle <= 6, `idle workers ${idle} within --max-spares 6`);

    // And they all chat.
    clients[0]!.send({ type: 'message', content: 'all here' });
    for (const c of clients) await c.waitFor((m) => m.type === 'message' && m.content === 'all here', 10_000);
  } finally {
    for (const c of clients) await c.close();
    const exit = await server.stop();
    assert.equal(exit.code, 0);
  }
});
