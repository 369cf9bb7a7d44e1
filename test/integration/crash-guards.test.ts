import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kind } from '../../src/ipc/hub-link-messages';
import { crashLines, hubPid, workerPids } from '../helpers/chaos';
import { RawHubLink } from '../helpers/raw-hub-link';
import { ok, welcomed, type Conn } from '../helpers/requests';
import { startServer, type LogLine, type RunningServer } from '../helpers/server';
import { within } from '../helpers/wait';

/**
 * The crash guards, exercised from outside: a raw connection to the hub's socket in
 * `<data-dir>/run/` sends what no worker sends (an oversized or zero length, an unknown frame
 * kind, a HELLO that is not JSON or not a HELLO, a frame before HELLO, a HELLO claiming a live
 * worker's id, forged requests whose handling throws). Each time the offending link, or only the
 * offending session, is dropped or answered with a reason that is logged; no process restarts;
 * real clients keep chatting throughout.
 */

describe('crash guards of the hub', () => {
  let server: RunningServer;
  let a: Conn;
  let b: Conn;
  let pids: { hub: number; workers: number[] };
  let said = 0;

  /** a and b still hear each other: every guard left the rest of the server alone. */
  async function stillChatting(): Promise<void> {
    const content = `still here ${++said}`;
    a.c.send({ type: 'message', content });
    await b.c.waitFor((m) => m.type === 'message' && m.content === content && m.identity === a.id);
    await a.c.waitFor((m) => m.type === 'message' && m.content === content);
  }

  function errorLogged(pred: (l: LogLine) => boolean): Promise<LogLine> {
    return server.waitForLog((l) => l.role === 'hub' && l.level === 50 && pred(l));
  }

  const errText = (l: LogLine): string => String((l.err as { message?: unknown } | undefined)?.message ?? '');

  /** The hub closes a link that sent `bytes`, and logs why. */
  async function dropped(bytes: Buffer, reason: (l: LogLine) => boolean): Promise<void> {
    const link = await RawHubLink.connect(server.dataDir);
    const mark = server.logs.length;
    link.write(bytes);
    assert.ok(await within(link.closed, 5000), 'the hub closed the link');
    const logged = await errorLogged((l) => server.logs.indexOf(l) >= mark && reason(l));
    assert.ok(logged, 'the reason is logged');
    await stillChatting();
  }

  before(async () => {
    server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '2'] });
    a = await welcomed(server.port);
    b = await welcomed(server.port);
    await a.c.waitFor((m) => m.type === 'roomchange' && m.identity === b.id);
    pids = { hub: hubPid(server), workers: workerPids(server) };
    assert.equal(pids.workers.length, 2);
  });

  after(async () => {
    // No process restarted and nothing else failed, whatever each test sent.
    assert.equal(hubPid(server), pids.hub, 'the hub was not restarted');
    assert.deepEqual(workerPids(server), pids.workers, 'no worker was restarted');
    assert.deepEqual(crashLines(server), []);
    await a.c.close();
    await b.c.close();
    await server.stop();
  });

  test('an oversized frame length drops the link', async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff, 0);
    await dropped(header, (l) => l.msg === 'undecodable frame from worker; dropping its link' && /exceeds the bound/.test(errText(l)));
  });

  test('a zero frame length drops the link', async () => {
    await dropped(Buffer.alloc(8), (l) => l.msg === 'undecodable frame from worker; dropping its link' && /IPC frame of 0 bytes/.test(errText(l)));
  });

  test('an unknown frame kind drops the link', async () => {
    const frame = Buffer.from([0, 0, 0, 3, 99, 1, 2]);
    await dropped(frame, (l) => /unknown worker-to-hub frame kind 99/.test(errText(l)));
  });

  test('a HELLO that is not JSON, or not a HELLO, drops the link', async () => {
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 6, Kind.HELLO]), Buffer.from('{nope')]);
    await dropped(garbage, (l) => /not JSON/.test(errText(l)));
    const notHello = Buffer.from(JSON.stringify({ workerId: 'x' }));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, notHello.length + 1, Kind.HELLO]), notHello]);
    await dropped(frame, (l) => /HELLO without a positive integer workerId/.test(errText(l)));
  });

  test('a frame before HELLO drops the link', async () => {
    const open = Buffer.from(JSON.stringify({ id: 1, address: 'x' }));
    await dropped(Buffer.concat([Buffer.from([0, 0, 0, open.length + 1, Kind.OPEN]), open]), (l) => l.reason === 'frame before HELLO' && l.kind === Kind.OPEN);
  });

  test('a HELLO claiming a live worker\'s id is refused; that worker\'s clients are untouched', async () => {
    const taken = pids.workers.length; // worker ids start at 1: the ids 1..N are live
    const hello = Buffer.from(JSON.stringify({ workerId: taken, sessions: [] }));
    await dropped(Buffer.concat([Buffer.from([0, 0, 0, hello.length + 1, Kind.HELLO]), hello]), (l) => l.reason === 'HELLO for a worker id that has a live link' && l.claimed === taken);
    // Both clients are still delivered to: the forged link took over nobody's sessions.
    await stillChatting();
    const list = await ok(b.c, { type: 'list' }, 'roomlist');
    assert.ok((list.rooms as Array<{ roomid: string; count: number }>).some((r) => r.roomid === 'MainHall' && r.count >= 2));
  });

  test('a second HELLO on one link drops it', async () => {
    const link = await RawHubLink.connect(server.dataDir);
    link.hello(900);
    link.hello(901);
    assert.ok(await within(link.closed, 5000), 'the hub closed the link');
    await errorLogged((l) => l.reason === 'second HELLO on a link' && l.workerId === 900);
    await stillChatting();
  });

  test('a request whose handling throws is answered INTERNAL_ERROR; the link and its session go on', async () => {
    const link = await RawHubLink.connect(server.dataDir);
    try {
      link.hello(950);
      link.open(1);
      await link.waitLine(1, 'welcome of the forged session', (m) => m.type === 'roomcontents');

      // Async path: presence of a non-array (the worker's validator never lets it through).
      link.request(1, { type: 'presence', users: 5 });
      const err = await link.waitLine(1, 'INTERNAL_ERROR for presence', (m) => m.type === 'error');
      assert.equal(err.code, 'INTERNAL_ERROR', JSON.stringify(err));
      await errorLogged((l) => l.msg === 'request failed' && /not iterable/.test(errText(l)));

      // Sync path: a ban until after the end of JavaScript dates (the worker caps `seconds`);
      // the banned name's join formats that date and throws inside the hub's handler.
      link.open(2);
      await link.waitLine(2, 'welcome of the second forged session', (m) => m.type === 'roomcontents');
      link.request(1, { type: 'createroom', roomid: 'Trapdoor' });
      await link.waitLine(1, 'Trapdoor created', (m) => m.type === 'roomlist' && (m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === 'Trapdoor'));
      link.request(1, { type: 'ban', roomid: 'Trapdoor', identity: 'Zebedee', seconds: 1e300 });
      await link.waitLine(1, 'ban', (m) => m.type === 'ban');
      link.request(2, { type: 'identitychange', identity: 'Zebedee' });
      await link.waitLine(2, 'renamed', (m) => m.type === 'newidentity' && m.identity === 'Zebedee');
      const before = link.linesTo(2).length;
      link.request(2, { type: 'join', roomid: 'Trapdoor' });
      const thrown = await link.waitLine(2, 'INTERNAL_ERROR for join', (m) => m.type === 'error', before);
      assert.equal(thrown.code, 'INTERNAL_ERROR', JSON.stringify(thrown));
      await errorLogged((l) => l.msg === 'failed to handle a frame; skipped' && l.type === 'join');

      // The link and both sessions still work.
      link.request(2, { type: 'list' });
      await link.waitLine(2, 'list after the throw', (m) => m.type === 'roomlist', before);
      assert.ok(link.isOpen, 'the link stays open');
      await stillChatting();
    } finally {
      await link.close();
    }
    // Its sessions leave as a dropped worker's do: MainHall no longer counts them.
    await a.c.waitFor((m) => m.type === 'roomchange' && m.identity === 'Zebedee' && m.roomid === '');
  });
});
