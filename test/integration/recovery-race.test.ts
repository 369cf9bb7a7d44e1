import assert from 'node:assert/strict';
import { test } from 'node:test';
import { holderOf, hubPid, workerPids } from '../helpers/chaos';
import * as proc from '../helpers/procfs';
import { ok, welcomed, type Conn } from '../helpers/requests';
import { startServer } from '../helpers/server';
import { until, within } from '../helpers/wait';

/**
 * Workers that die while a restarted hub is still recovering (hub.ts: awaited workers, restored
 * sessions, frames held during recovery). The window is made deterministic without timing: the
 * recovery deadline is far away (--hub-recovery-timeout-ms), and one worker is stopped
 * (SIGSTOP) so the new hub keeps waiting for its HELLO while the test kills the others.
 *
 * W1 registers with the new hub and is then killed (its restored sessions must not come back);
 * W3 never registers and is killed while stopped (the hub must stop waiting for it at once, not
 * at the deadline). Afterwards the dead workers' clients are gone from every room, W2's clients
 * keep their names and rooms, and everyone left chats.
 */

const DEADLINE_MS = 120_000;

test('workers dying during hub recovery: their clients leave, the others keep names and rooms, nothing waits for the deadline', { timeout: 90_000 }, async () => {
  const server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '3', '--hub-recovery-timeout-ms', String(DEADLINE_MS)] });
  const conns: Conn[] = [];
  try {
    for (let i = 0; i < 6; i++) conns.push(await welcomed(server.port));
    const holder = new Map<Conn, number>();
    for (const c of conns) holder.set(c, await until(`holder of ${c.id}`, () => holderOf(server, c.c.localPort)));
    const workers = workerPids(server);
    assert.equal(workers.length, 3);
    const on = (pid: number): Conn[] => conns.filter((c) => holder.get(c) === pid);
    const [w1, w2, w3] = workers as [number, number, number];
    assert.ok(on(w1).length > 0 && on(w2).length >= 2 && on(w3).length > 0, `clients on every worker: ${JSON.stringify(conns.map((c) => holder.get(c)))}`);
    const workerIdOf = (pid: number): number => server.logs.find((l) => l.role === 'worker' && l.pid === pid)!.workerId as number;

    // W2's first client owns Den, with one client of each worker in it; W2's second renames.
    const [owner, renamed] = on(w2) as [Conn, Conn];
    await ok(owner.c, { type: 'createroom', roomid: 'Den' }, 'roomlist');
    for (const c of [owner, on(w1)[0]!, on(w3)[0]!]) await ok(c.c, { type: 'join', roomid: 'Den' }, 'roomchange', (m) => m.identity === c.id && m.roomid === 'Den');
    await ok(renamed.c, { type: 'identitychange', identity: 'Survivor' }, 'newidentity', (m) => m.identity === 'Survivor');
    renamed.id = 'Survivor';

    const oldHub = hubPid(server);
    process.kill(w3, 'SIGSTOP');
    process.kill(oldHub, 'SIGKILL');
    const newHub = (await server.waitForLog((l) => l.role === 'hub' && l.msg === 'hub listening' && l.pid !== oldHub, 15_000)).pid as number;
    const registered = (pid: number): Promise<unknown> =>
      server.waitForLog((l) => l.pid === newHub && l.msg === 'worker registered' && l.workerId === workerIdOf(pid), 15_000);
    await registered(w1);
    await registered(w2);
    assert.ok(!server.logs.some((l) => l.pid === newHub && l.msg === 'recovered'), 'the new hub still waits for the stopped worker');

    // W1 dies after its HELLO, while the hub still recovers.
    process.kill(w1, 'SIGKILL');
    await server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'worker died' && l.childPid === w1, 15_000);
    await server.waitForLog((l) => l.pid === newHub && l.msg === 'worker link closed' && l.workerId === workerIdOf(w1), 15_000);
    assert.ok(!server.logs.some((l) => l.pid === newHub && l.msg === 'recovered'), 'still recovering: W3 has not registered');

    // W3 dies without ever registering: the hub stops waiting for it now, not at the deadline.
    process.kill(w3, 'SIGKILL');
    await server.waitForLog((l) => l.pid === newHub && l.msg === 'an awaited worker exited during recovery' && l.workerId === workerIdOf(w3), 15_000);
    await server.waitForLog((l) => l.pid === newHub && l.msg === 'recovered', 15_000);

    const dead = [...on(w1), ...on(w3)];
    const alive = on(w2);
    for (const c of dead) assert.ok(await within(c.c.closed, 10_000), `${c.id} (on a killed worker) is disconnected`);
    assert.ok(alive.every((c) => c.c.isOpen), 'W2\'s clients stay connected');
    assert.ok(!proc.isAlive(oldHub) && proc.isAlive(newHub) && proc.isAlive(w2), 'only the killed processes are gone');

    // Rooms as W2's clients left them; the dead workers' clients are in none.
    const who = async (roomid: string): Promise<{ owner: unknown; identities: string[] }> => {
      const m = await ok(renamed.c, { type: 'who', roomid }, 'roomcontents', (x) => x.roomid === roomid);
      return { owner: m.owner, identities: [...(m.identities as string[])].sort() };
    };
    assert.deepEqual(await who('Den'), { owner: owner.id, identities: [owner.id] });
    const hall = await who('MainHall');
    assert.deepEqual(hall.identities, alive.filter((c) => c !== owner).map((c) => c.id).sort());
    const list = await ok(owner.c, { type: 'list' }, 'roomlist');
    assert.deepEqual(list.rooms, [
      { roomid: 'MainHall', count: alive.length - 1 },
      { roomid: 'Den', count: 1 },
    ]);

    // Everyone left chats, a newcomer too, and takes none of the survivors' names.
    const late = await welcomed(server.port, 15_000);
    assert.ok(!alive.some((c) => c.id === late.id), `newcomer ${late.id} got a survivor's name`);
    renamed.c.send({ type: 'message', content: 'after the race' });
    await late.c.waitFor((m) => m.type === 'message' && m.content === 'after the race' && m.identity === 'Survivor');
    await late.c.close();
  } finally {
    for (const c of conns) await c.c.close();
    // A stopped worker would hold the stop until its kill; it was killed above unless the test failed early.
    for (const pid of workerPids(server)) process.kill(pid, 'SIGCONT');
    await server.stop();
  }
});
