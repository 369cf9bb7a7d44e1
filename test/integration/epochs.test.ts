import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { expectFields, guestPool, login, ok, refused, register, runCli, say, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { escape, TerminalClient } from '../helpers/terminal-client';

/*
 * Item 7 of issue 9: a room's seq means one history only. Through the real server: a restore
 * gives every room a new epoch, and clients that stayed (the terminal client, reconnecting by
 * itself) see the messages of the new epoch; a room created under the name of a deleted or
 * abandoned one, by anyone, starts empty in a new epoch and reaches nothing of the old one.
 */

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

let n = 0;
const uniq = (prefix: string): string => `${prefix}${process.pid % 10000}e${++n}`;

/** A TCP port free right now, so that a restarted server can listen where its clients reconnect. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function createAndJoin(conn: Conn, roomid: string, extra: object = {}): Promise<void> {
  const m = await ok(conn.c, { type: 'createroom', roomid, ...extra }, 'roomlist');
  assert.ok((m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === roomid), `${roomid} created`);
  await ok(conn.c, { type: 'join', roomid }, 'roomchange', (x) => x.identity === conn.id && x.roomid === roomid);
}

/** `resume` answered: the messages replayed and the `resumed` line. */
async function resume(c: TestClient, request: object): Promise<{ lines: Msg[]; done: Msg }> {
  const earlier = new Set(c.received);
  c.send({ type: 'resume', ...request });
  const done = await c.waitFor((m) => !earlier.has(m) && (m.type === 'resumed' || m.type === 'error'));
  assert.equal(done.type, 'resumed', JSON.stringify(done));
  const lines = c.received.slice(0, c.received.indexOf(done)).filter((m) => !earlier.has(m) && m.type === 'message');
  return { lines, done };
}

describe('epochs', { timeout: 90_000 }, () => {
  test('after a restore every room is in a new epoch: a reconnecting terminal client shows the new messages, a resume with the old epoch replays the new one from 1', async (t) => {
    const dataDir = tempDir('sb-epoch-restore-');
    const backup = path.join(tempDir('sb-epoch-backup-'), 'backup.db');
    const port = await freePort();
    let server: RunningServer = await startServer({ dataDir, args: ['--port', String(port)] });
    t.after(() => server.stop());
    const guest = guestPool(t, () => server.port);

    const al = await guest();
    const alice = uniq('al');
    await register(al.c, alice);
    const token = await login(al, alice);
    const room = uniq('Rest');
    await createAndJoin(al, room);
    const term = TerminalClient.start(`127.0.0.1:${port}`);
    t.after(() => term.kill());
    term.write(`/join ${room}\n`);
    await term.waitFor(new RegExp(`moves from MainHall to ${escape(room)}\\n`));

    const before: Msg[] = [];
    for (const content of ['one', 'two', 'three']) before.push(await say(al, content));
    assert.equal((await runCli(['backup', '--data-dir', dataDir, '--out', backup])).code, 0);
    for (const content of ['four', 'five', 'six']) before.push(await say(al, content));
    const oldEpoch = before[0]!.epoch as string;
    assert.match(oldEpoch, /^[0-9a-f]{16}$/);
    assert.ok(before.every((m, i) => m.seq === i + 1 && m.epoch === oldEpoch));
    await term.waitFor(new RegExp(`\\n${escape(alice)}: six\\n`));

    await al.c.close();
    await server.stop();
    const restored = await runCli(['restore', '--data-dir', dataDir, '--from', backup]);
    assert.equal(restored.code, 0, restored.stderr);
    server = await startServer({ dataDir, args: ['--port', String(port)] });

    const al2 = await guest();
    await login(al2, alice, { token });
    await ok(al2.c, { type: 'join', roomid: room }, 'roomchange', (x) => x.identity === alice && x.roomid === room);
    const after = await say(al2, 'after restore');
    expectFields(after, { seq: 4 });
    assert.notEqual(after.epoch, oldEpoch, 'a new epoch: seq 4 was seen before, with another meaning');

    // The terminal client came back by itself: it shows the new message (its seq was seen in the old epoch).
    await term.waitFor(new RegExp(`\\n${escape(alice)}: after restore\\n`), 20_000);
    term.write('/quit\n');
    await term.finish();
    for (const content of ['one', 'two', 'three']) {
      assert.equal(term.lines.filter((l) => l === `${alice}: ${content}`).length, 1, `${content} shown once:\n${term.output}`);
    }

    // A client that stayed: resume from seq 6 of the old epoch gets the new epoch from its start.
    const { lines, done } = await resume(al2.c, { roomid: room, since: 6, epoch: oldEpoch });
    assert.deepEqual(lines.map((m) => [m.seq, m.content]), [[1, 'one'], [2, 'two'], [3, 'three'], [4, 'after restore']]);
    expectFields(done, { seq: 4, epoch: after.epoch });
    // In the current epoch, `since` counts as before; without an epoch too (older clients).
    assert.deepEqual((await resume(al2.c, { roomid: room, since: 3, epoch: after.epoch })).lines.map((m) => m.seq), [4]);
    assert.deepEqual((await resume(al2.c, { roomid: room, since: 3 })).lines.map((m) => m.seq), [4]);
    const history = await ok(al2.c, { type: 'history', roomid: room }, 'history');
    expectFields(history, { epoch: after.epoch });
    assert.ok((history.messages as Msg[]).every((m) => m.epoch === after.epoch));
  });

  test('a room created under the name of a deleted or abandoned one is a new room: nothing of the old one is reachable', async (t) => {
    const server = await startServer();
    t.after(() => server.stop());
    const guest = guestPool(t, () => server.port);
    const owner = await guest();
    const ownerName = uniq('ow');
    await register(owner.c, ownerName);
    await login(owner, ownerName);
    const mallory = await guest();

    // A private room of an account, deleted by its owner.
    const closed = uniq('Priv');
    await createAndJoin(owner, closed, { private: true });
    const secret = await say(owner, 'the wifi password is hunter2');
    await ok(owner.c, { type: 'delete', roomid: closed }, 'roomlist');
    await refused(mallory.c, { type: 'history', roomid: closed }, 'NO_SUCH_ROOM', ['history']);
    await createAndJoin(mallory, closed);
    // A guest room abandoned by its owner (it quits), re-created by someone else.
    const leaver = await guest();
    const abandoned = uniq('Guest');
    await createAndJoin(leaver, abandoned);
    const guestSecret = await say(leaver, 'guest secret');
    leaver.c.send({ type: 'quit' });
    await leaver.c.waitFor((m) => m.type === 'roomchange' && m.roomid === '');
    let recreated = false;
    for (let tries = 0; !recreated; tries++) {
      const list = await ok(mallory.c, { type: 'createroom', roomid: abandoned }, 'roomlist');
      recreated = (list.rooms as Array<{ roomid: string }>).some((r) => r.roomid === abandoned);
      assert.ok(recreated || tries < 50, 'the abandoned room is deleted');
    }

    for (const [roomid, old] of [[closed, secret], [abandoned, guestSecret]] as const) {
      const history = await ok(mallory.c, { type: 'history', roomid }, 'history');
      assert.deepEqual(history.messages, [], `${roomid}: no old history`);
      assert.match(history.epoch as string, /^[0-9a-f]{16}$/);
      assert.notEqual(history.epoch, old.epoch, `${roomid}: a new epoch`);
      const { lines, done } = await resume(mallory.c, { roomid, since: 0 });
      assert.deepEqual(lines, [], `${roomid}: resume replays nothing old`);
      expectFields(done, { seq: 0, epoch: history.epoch });
      await refused(mallory.c, { type: 'recall', id: old.id }, 'NO_SUCH_MESSAGE', ['recalled']);
    }
    await ok(mallory.c, { type: 'join', roomid: closed }, 'roomchange', (x) => x.identity === mallory.id && x.roomid === closed);
    const fresh = await say(mallory, 'hello');
    expectFields(fresh, { seq: 1 });
    assert.notEqual(fresh.epoch, secret.epoch);
    const exported = await runCli(['export', '--data-dir', server.dataDir, '--room', closed, '--format', 'json']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual((JSON.parse(exported.stdout) as Msg[]).map((m) => [m.content, m.epoch]), [['hello', fresh.epoch]]);
  });
});
