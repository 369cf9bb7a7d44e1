import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { HandOffs, type UntakenReason } from '../../src/supervisor/hand-offs';

/**
 * The supervisor's record of client sockets handed to one worker and not yet confirmed, on real
 * TCP connections: a confirmation closes the supervisor's copy only, earlier unconfirmed
 * hand-offs are reported lost (the worker reads 'conn' messages in order), and a worker's exit
 * reports the rest, each exactly once.
 */

async function connections(n: number): Promise<{ server: net.Server; accepted: net.Socket[]; clients: net.Socket[] }> {
  const accepted: net.Socket[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const clients: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = net.createConnection({ host: '127.0.0.1', port });
    await new Promise((resolve) => c.once('connect', resolve));
    clients.push(c);
  }
  while (accepted.length < n) await new Promise((resolve) => setImmediate(resolve));
  return { server, accepted, clients };
}

test('hand-offs: a confirmation settles earlier ones as lost; an exit settles the rest; each once', async () => {
  const { server, accepted, clients } = await connections(4);
  try {
    const record = new HandOffs();
    const untaken: Array<[number, UntakenReason]> = [];
    const ids = accepted.map((s, i) => record.add(s, (why) => untaken.push([i, why])));
    assert.deepEqual(ids, [1, 2, 3, 4]);

    record.taken(2);
    assert.deepEqual(untaken, [[0, 'lost']], 'hand-off 1, before the confirmed 2, was lost');
    assert.ok(accepted[1]!.destroyed, "the supervisor's copy of a taken socket is closed");
    assert.ok(!accepted[0]!.destroyed && !accepted[2]!.destroyed, 'sockets not taken stay open, to be placed again');

    record.untaken(3, 'gone');
    record.untaken(3, 'gone');
    record.taken(2);
    assert.deepEqual(untaken, [[0, 'lost'], [2, 'gone']], 'settling twice reports nothing more');

    record.untakenAll('exited');
    record.untakenAll('exited');
    assert.deepEqual(untaken, [[0, 'lost'], [2, 'gone'], [3, 'exited']]);
    assert.ok(!accepted[3]!.destroyed, 'an untaken socket is left to the caller');
  } finally {
    for (const s of [...accepted, ...clients]) s.destroy();
    server.close();
  }
});
