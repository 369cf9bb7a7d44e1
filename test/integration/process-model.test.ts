import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TestClient, type ConnectOptions, type Msg } from '../helpers/client';
import * as proc from '../helpers/procfs';
import { startServer, type LogLine, type RunningServer } from '../helpers/server';
import { sleep, until, within } from '../helpers/wait';

/**
 * The process model, proven from outside through /proc: which process holds each client's
 * socket, what lives and dies when, and what clients see when processes crash or stop.
 * Linux only (reads /proc). Every wait is a bounded poll.
 */

const TEST_TIMEOUT_MS = 40_000;

interface Conn {
  client: TestClient;
  identity: string;
}


/** One running server under test and everything it has been seen to start. */
class Ctx {
  readonly clients: TestClient[] = [];
  /** Every pid of the server seen so far, with its start time (pids get reused). */
  readonly seen = new Map<number, number>();

  private constructor(readonly server: RunningServer) {}

  static async start(args: string[]): Promise<Ctx> {
    const ctx = new Ctx(await startServer({ args: ['--host', '127.0.0.1', ...args] }));
    ctx.record();
    return ctx;
  }

  get supPid(): number {
    return this.server.pid;
  }

  /** Records the supervisor, its current process tree, and every pid named in the logs. */
  record(): void {
    const pids = new Set<number>([this.supPid, ...proc.descendants(this.supPid)]);
    for (const l of this.server.logs) if (typeof l.pid === 'number') pids.add(l.pid);
    for (const pid of pids) {
      if (this.seen.has(pid)) continue;
      const st = proc.procStat(pid);
      if (st && proc.isAlive(pid)) this.seen.set(pid, st.startTime);
    }
  }

  logsOf(role: string, msg?: string): LogLine[] {
    return this.server.logs.filter((l) => l.role === role && (msg === undefined || l.msg === msg));
  }

  /** The pid of the hub now serving: the latest 'hub listening' line. */
  hubPid(): number {
    const lines = this.logsOf('hub', 'hub listening');
    assert.ok(lines.length > 0, 'no hub log line');
    return lines[lines.length - 1]!.pid as number;
  }

  /** Live worker processes: pids that logged as role 'worker', still running, children of the supervisor. */
  workerPids(): number[] {
    const children = new Set(proc.childPids(this.supPid));
    const pids = new Set(this.logsOf('worker').map((l) => l.pid as number));
    return [...pids].filter((p) => children.has(p) && proc.isAlive(p)).sort((a, b) => a - b);
  }

  /** Live children of the supervisor other than the hub: the worker processes by the process tree. */
  workerChildren(): number[] {
    const hub = this.hubPid();
    return proc.childPids(this.supPid).filter((p) => p !== hub && proc.isAlive(p));
  }

  /** Which processes of this server hold the server side of `client`'s connection now. */
  holdersOf(client: TestClient): number[] {
    return proc.pidsHoldingTcpConnection(this.server.port, client.localPort, [this.supPid, ...proc.descendants(this.supPid)]);
  }

  /**
   * The one worker holding `client`'s socket. Fails unless exactly one process holds it, that
   * process is a worker (logged as one, child of the supervisor) and not the supervisor.
   */
  async holderOf(client: TestClient): Promise<number> {
    let last: number[] = [];
    try {
      await until(
        `exactly one non-supervisor holder of the connection from client port ${client.localPort}`,
        () => {
          last = this.holdersOf(client);
          // The holder's log lines travel on a pipe of their own and may trail the welcome.
          return last.length === 1 && last[0] !== this.supPid && this.workerPids().includes(last[0]!);
        },
        3000,
      );
    } catch {
      assert.fail(
        `client port ${client.localPort}: server-side socket held by ${JSON.stringify(last)}; expected exactly one worker ` +
          `(supervisor ${this.supPid}, hub ${this.hubPid()}, workers by logs ${JSON.stringify(this.workerPids())})`,
      );
    }
    const holder = last[0]!;
    this.record();
    assert.notEqual(holder, this.hubPid(), 'the hub must not hold client sockets');
    return holder;
  }

  async connect(): Promise<Conn> {
    const conn = await TestClient.welcomed(this.server.port);
    this.clients.push(conn.client);
    return conn;
  }

  async raw(opts: ConnectOptions = {}): Promise<TestClient> {
    const client = await TestClient.connect(this.server.port, opts);
    this.clients.push(client);
    return client;
  }

  /**
   * Closes the clients, stops the server if still running, and checks that no process of
   * it is left: every recorded pid dead within 10 s, none a zombie, and no process anywhere
   * mentioning this server's data dir.
   */
  async finish(): Promise<void> {
    this.record();
    for (const c of this.clients) if (c.isOpen) await within(c.close(), 2000);
    if (this.server.process.exitCode === null && this.server.process.signalCode === null) {
      const r = await this.server.stop('SIGTERM');
      assert.equal(r.code, 0, `supervisor exit code on the final SIGTERM: ${JSON.stringify(r)}`);
    } else {
      await this.server.stop();
    }
    await assertAllGone(this, 10_000);
  }
}

function alivePids(ctx: Ctx): number[] {
  return [...ctx.seen].filter(([pid, start]) => proc.isAlive(pid, start)).map(([pid]) => pid);
}

async function assertAllGone(ctx: Ctx, timeoutMs: number): Promise<void> {
  const dataDir = ctx.server.dataDir;
  const leftover = (): number[] => [...new Set([...alivePids(ctx), ...proc.pidsMentioning(dataDir)])];
  try {
    await until('every process of the server to be gone', () => leftover().length === 0, timeoutMs, 50);
  } catch {
    const left = leftover();
    // Clean up what this test started, then fail.
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    assert.fail(`server processes still alive ${timeoutMs} ms after stop: ${JSON.stringify(left.map((p) => ({ pid: p, cmd: proc.cmdline(p).join(' ') })))}`);
  }
  const zombies = [...ctx.seen.keys()].filter((pid) => proc.isZombie(pid) && proc.procStat(pid)!.startTime === ctx.seen.get(pid));
  assert.deepEqual(zombies, [], 'zombie processes left behind');
}

/** Starts a server, runs `body`, then always runs the leftover checks. */
async function withServer(args: string[], body: (ctx: Ctx) => Promise<void>): Promise<void> {
  const ctx = await Ctx.start(args);
  let failure: unknown = null;
  try {
    await body(ctx);
  } catch (err) {
    failure = err;
  }
  try {
    await ctx.finish();
  } catch (err) {
    failure ??= err;
  }
  if (failure) throw failure;
}

/** `from` says `content`; everyone in `to` (and the sender) receives it from `from`. */
async function chat(from: Conn, to: Conn[], content: string): Promise<void> {
  from.client.send({ type: 'message', content });
  for (const c of [from, ...to]) {
    await c.client.waitFor((m) => m.type === 'message' && m.content === content && m.identity === from.identity, 5000);
  }
}

/** Sends a request and waits for the reply of `type`. */
async function ask(c: Conn, req: object, type: string, pred: (m: Msg) => boolean = () => true): Promise<Msg> {
  c.client.send(req);
  return c.client.waitFor((m) => m.type === type && pred(m), 5000);
}

/** A connection the server should refuse: records whether it ended with a FIN or an error. */
async function refusedClient(ctx: Ctx): Promise<{ client: TestClient; ended: () => boolean; errors: Error[] }> {
  const client = await ctx.raw();
  let ended = false;
  const errors: Error[] = [];
  client.socket.on('end', () => (ended = true));
  client.socket.on('error', (e) => errors.push(e));
  return { client, ended: () => ended, errors };
}

/**
 * A client over the cap is closed at once without a line (it has said nothing, so it is a core
 * client: docs/PROTOCOL.md, Core and extended clients); the server logs TOO_MANY_USERS.
 */
async function expectTooManyUsers(ctx: Ctx, label: string): Promise<void> {
  const r = await refusedClient(ctx);
  assert.ok(await within(r.client.closed, 5000), `${label}: refused client not closed within 5 s`);
  assert.ok(r.ended(), `${label}: refused client closed without a clean end (FIN): errors ${r.errors.map(String)}`);
  assert.deepEqual(r.errors, [], `${label}: refused client saw socket errors`);
  assert.deepEqual([r.client.received, r.client.rawLines], [[], []], `${label}: refused client got a line`);
}

/** Connects until admitted (a slot frees asynchronously after a leave); fails after `ms`. */
async function connectWhenAdmitted(ctx: Ctx, ms: number): Promise<{ conn: Conn; refusals: number }> {
  const deadline = Date.now() + ms;
  let refusals = 0;
  for (;;) {
    const client = await ctx.raw();
    const first = await client.next(5000).catch(() => null);
    if (first?.type === 'newidentity') {
      await client.waitFor((m) => m.type === 'roomcontents');
      return { conn: { client, identity: first.identity as string }, refusals };
    }
    assert.equal(first, null, 'a refused client is closed without a line');
    refusals++;
    await within(client.closed, 2000);
    if (Date.now() > deadline) assert.fail(`still refused ${ms} ms after a client left (${refusals} refusals)`);
    await sleep(100);
  }
}

/** Waits until every client has seen the last one arrive in MainHall (broadcasts settled). */
async function settled(conns: Conn[]): Promise<void> {
  const last = conns[conns.length - 1]!;
  // The last one consumed its own notice with its welcome.
  for (const c of conns.slice(0, -1)) await c.client.waitFor((m) => m.type === 'roomchange' && m.identity === last.identity && m.roomid === 'MainHall', 5000);
}

const left = (identity: string, former = 'MainHall') => (m: Msg) =>
  m.type === 'roomchange' && m.identity === identity && m.roomid === '' && m.former === former;

describe('process model', { timeout: 120_000 }, () => {
  for (const placement of ['pool', 'dedicated'] as const) {
    const args = placement === 'pool' ? ['--workers', '2'] : ['--placement', 'dedicated', '--spares', '2'];

    test(`${placement}: each client's socket is held by exactly one worker, never by the supervisor`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withServer(args, async (ctx) => {
        const n = placement === 'pool' ? 6 : 4;
        const conns: Conn[] = [];
        for (let i = 0; i < n; i++) conns.push(await ctx.connect());
        const holders: number[] = [];
        for (const c of conns) holders.push(await ctx.holderOf(c.client));

        // Roles by the process tree too: hub and every holder are direct children of the supervisor.
        const children = proc.childPids(ctx.supPid);
        assert.ok(children.includes(ctx.hubPid()), 'hub is a child of the supervisor');
        for (const h of holders) {
          assert.ok(children.includes(h), `holder ${h} is a child of the supervisor`);
          assert.ok((proc.rssKb(h) ?? 0) > 0, `holder ${h} is a live process with memory of its own`);
        }

        // The supervisor keeps no client socket at all (only its listener).
        const clientInodes = conns.map((c) => proc.tcpConnectionInodes(ctx.server.port, c.client.localPort));
        assert.ok(clientInodes.every((i) => i.length === 1), `one server-side socket per client: ${JSON.stringify(clientInodes)}`);
        const supInodes = proc.socketInodes(ctx.supPid);
        assert.deepEqual(clientInodes.flat().filter((i) => supInodes.has(i)), [], 'supervisor holds client sockets');
        const established = proc.tcpTable().filter((r) => r.localPort === ctx.server.port && r.state === '01' && supInodes.has(r.inode));
        assert.deepEqual(established, [], 'supervisor holds an established connection on the client port');
        const distinct = new Set(holders);
        if (placement === 'pool') {
          assert.ok(distinct.size >= 2, `pool of 2: clients spread over ≥2 workers, got ${JSON.stringify(holders)}`);
          assert.ok(distinct.size <= 2, `pool of 2: at most 2 worker pids, got ${JSON.stringify(holders)}`);
        } else {
          assert.equal(distinct.size, n, `dedicated: one worker per client, got ${JSON.stringify(holders)}`);
        }
        // And the sessions work across those processes.
        await chat(conns[0]!, conns.slice(1), `hello from ${placement}`);
      });
    });

    test(`${placement}: the supervisor never reads client bytes (silent client welcomed; early bytes answered after the welcome)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withServer(args, async (ctx) => {
        // A client that sends nothing gets the whole welcome.
        const silent = await ctx.raw({ core: true });
        const hello = await silent.next(5000);
        assert.equal(hello.type, 'newidentity');
        assert.equal(hello.former, '');
        await silent.waitFor((m) => m.type === 'roomchange' && m.identity === hello.identity && m.roomid === 'MainHall');
        await silent.waitFor((m) => m.type === 'roomlist');
        await silent.waitFor((m) => m.type === 'roomcontents' && m.roomid === 'MainHall');

        // Bytes sent before the hand-off are not consumed by the supervisor: the worker reads
        // them after the welcome and answers.
        const early = await ctx.raw();
        early.send('{"type":"who","roomid":"MainHall"}\n{"type":"message","content":"early bird"}\n');
        const first = await early.next(5000);
        assert.equal(first.type, 'newidentity');
        const types = [first.type];
        const welcomeEnd = await early.waitFor((m) => {
          types.push(m.type);
          return m.type === 'roomcontents';
        });
        assert.equal(welcomeEnd.roomid, 'MainHall');
        assert.deepEqual(types, ['newidentity', 'roomchange', 'roomlist', 'roomcontents'], 'the welcome comes first, whole');
        const who = await early.waitFor((m) => m.type === 'roomcontents', 5000);
        assert.deepEqual([...(who.identities as string[])].sort(), [hello.identity as string, first.identity as string].sort());
        await early.waitFor((m) => m.type === 'message' && m.content === 'early bird' && m.identity === first.identity);
        await silent.waitFor((m) => m.type === 'message' && m.content === 'early bird');

        const hs = await ctx.holderOf(silent);
        const he = await ctx.holderOf(early);
        assert.notEqual(hs, ctx.supPid);
        assert.notEqual(he, ctx.supPid);
      });
    });
  }

  test('dedicated: spares before any client, a worker ends with its client', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withServer(['--placement', 'dedicated', '--spares', '2'], async (ctx) => {
      // Before any client: ≥2 idle worker processes, ready (linked to the hub), holding no client socket.
      const spares = await until('2 spare workers', () => {
        const w = ctx.workerPids();
        return w.length >= 2 && w;
      });
      assert.deepEqual(ctx.workerChildren().sort((a, b) => a - b), spares, 'worker processes by logs = non-hub children of the supervisor');
      // Idle: none holds an established connection on the client port.
      const established = new Set(proc.tcpTable().filter((r) => r.localPort === ctx.server.port && r.state === '01').map((r) => r.inode));
      for (const w of spares) assert.ok(![...proc.socketInodes(w)].some((i) => established.has(i)), `spare ${w} holds a client socket`);
      ctx.record();

      const a = await ctx.connect();
      const b = await ctx.connect();
      const c = await ctx.connect();
      const ha = await ctx.holderOf(a.client);
      const hb = await ctx.holderOf(b.client);
      const hc = await ctx.holderOf(c.client);
      assert.equal(new Set([ha, hb, hc]).size, 3, 'one process per client');
      assert.ok(spares.includes(ha), `the first client went to a pre-spawned spare (${ha} in ${JSON.stringify(spares)})`);

      // Spares are refilled: again ≥2 idle workers besides the 3 busy ones.
      await until('spares refilled to 2', () => {
        ctx.record();
        return ctx.workerPids().filter((p) => ![ha, hb, hc].includes(p)).length >= 2;
      }, 8000);

      // quit: the client is told, closed, and its process ends.
      a.client.send({ type: 'quit' });
      await a.client.waitFor(left(a.identity));
      assert.ok(await within(a.client.closed, 5000), 'quitter closed');
      await until(`worker ${ha} to end after its client quit`, () => !proc.isAlive(ha), 5000);
      await b.client.waitFor(left(a.identity));

      // A dropped connection: same.
      await b.client.close();
      await until(`worker ${hb} to end after its client dropped`, () => !proc.isAlive(hb), 5000);
      await c.client.waitFor(left(b.identity));
      assert.ok(proc.isAlive(hc), 'the other client\'s worker lives on');
      await until('ended workers reaped (no zombies)', () => !proc.isZombie(ha) && !proc.isZombie(hb), 3000);
      assert.ok(c.client.isOpen);
    });
  });

  test('dedicated: --max-processes caps processes; the client over the cap is refused (closed without a line)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withServer(['--placement', 'dedicated', '--spares', '1', '--max-processes', '3'], async (ctx) => {
      let maxSeen = 0;
      const sample = setInterval(() => (maxSeen = Math.max(maxSeen, ctx.workerChildren().length)), 20);
      try {
        const conns: Conn[] = [];
        for (let i = 0; i < 3; i++) conns.push(await ctx.connect());
        const holders = await Promise.all(conns.map((c) => ctx.holderOf(c.client)));
        assert.equal(new Set(holders).size, 3);

        await expectTooManyUsers(ctx, '4th client with 3 processes at the cap');
        assert.ok(conns.every((c) => c.client.isOpen), 'the others stay connected');
        await chat(conns[0]!, conns.slice(1), 'still here');
        await chat(conns[2]!, conns.slice(0, 2), 'me too');

        // One leaves: its process ends, and a new client can have one.
        conns[1]!.client.send({ type: 'quit' });
        await until(`worker ${holders[1]} to end`, () => !proc.isAlive(holders[1]!), 5000);
        const { conn: late, refusals } = await connectWhenAdmitted(ctx, 8000);
        t.diagnostic(`refusals after the worker ended, before re-admission: ${refusals}`);
        const hl = await ctx.holderOf(late.client);
        assert.ok(!holders.includes(hl), 'the newcomer has its own process');
        await chat(late, [conns[0]!, conns[2]!], 'newcomer');
        assert.ok(ctx.workerChildren().length <= 3);
      } finally {
        clearInterval(sample);
      }
      assert.ok(maxSeen <= 3, `worker processes never exceed --max-processes 3 (saw ${maxSeen})`);
    });
  });

  for (const placement of ['pool', 'dedicated'] as const) {
    const args = placement === 'pool' ? ['--workers', '2'] : ['--placement', 'dedicated', '--spares', '2'];
    test(`${placement}: --max-clients 3: the 4th is refused with a clean close and no line; the others are unaffected; a slot frees on leave`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await withServer([...args, '--max-clients', '3'], async (ctx) => {
        const conns: Conn[] = [];
        for (let i = 0; i < 3; i++) conns.push(await ctx.connect());
        await settled(conns);
        const marks = conns.map((c) => c.client.received.length);

        await expectTooManyUsers(ctx, '4th client');
        await chat(conns[1]!, [conns[0]!, conns[2]!], 'three is company');
        // Nothing else reached the three: the refused client never appeared in a room.
        conns.forEach((c, i) => {
          const since = c.client.received.slice(marks[i]);
          assert.deepEqual(since.map((m) => m.type), ['message'], `client ${i} saw only the chat: ${JSON.stringify(since)}`);
        });

        // A second refusal too (the count does not drift).
        await expectTooManyUsers(ctx, '5th client');

        await conns[2]!.client.close();
        await conns[0]!.client.waitFor(left(conns[2]!.identity));
        const { conn: late, refusals } = await connectWhenAdmitted(ctx, 5000);
        t.diagnostic(`refusals after the leave was seen, before re-admission: ${refusals}`);
        await chat(late, [conns[0]!, conns[1]!], 'room for one more');
        await expectTooManyUsers(ctx, 'client over the cap again');
      });
    });
  }

  test('pool: kill -9 of a worker drops only its clients; a replacement serves new ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withServer(['--workers', '2'], async (ctx) => {
      const conns: Conn[] = [];
      for (let i = 0; i < 6; i++) conns.push(await ctx.connect());
      await settled(conns);
      const holders = new Map<Conn, number>();
      for (const c of conns) holders.set(c, await ctx.holderOf(c.client));
      const before = ctx.workerPids();
      assert.equal(before.length, 2);
      const victim = holders.get(conns[0]!)!;
      const doomed = conns.filter((c) => holders.get(c) === victim);
      const survivors = conns.filter((c) => holders.get(c) !== victim);
      assert.ok(survivors.length >= 2, `need survivors on the other worker: ${JSON.stringify([...holders.values()])}`);
      const survivorMarks = survivors.map((c) => c.client.received.length);

      process.kill(victim, 'SIGKILL');

      for (const d of doomed) assert.ok(await within(d.client.closed, 5000), `${d.identity} (on the killed worker) disconnected`);
      for (const s of survivors) for (const d of doomed) await s.client.waitFor(left(d.identity), 5000);
      await until(`killed worker ${victim} reaped`, () => !proc.isAlive(victim) && !proc.isZombie(victim), 5000);
      await ctx.server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'worker died' && l.childPid === victim, 5000);

      // A replacement: a new worker pid, logged, child of the supervisor.
      const fresh = await ctx.server.waitForLog((l) => l.role === 'worker' && l.msg === 'linked to hub' && !before.includes(l.pid as number), 10_000);
      const freshPid = fresh.pid as number;
      ctx.record();
      assert.ok(proc.childPids(ctx.supPid).includes(freshPid), 'replacement is a child of the supervisor');
      assert.deepEqual(ctx.workerPids(), [...before.filter((p) => p !== victim), freshPid].sort((a, b) => a - b));

      // Survivors were not disturbed: only the leave notices, no disconnect.
      survivors.forEach((s, i) => {
        assert.ok(s.client.isOpen, `${s.identity} still connected`);
        const since = s.client.received.slice(survivorMarks[i]);
        assert.ok(since.every((m) => m.type === 'roomchange' && m.roomid === ''), `${s.identity} saw only leaves: ${JSON.stringify(since)}`);
        assert.equal(since.length, doomed.length);
      });

      // New clients are served, by the replacement (the least loaded worker once the
      // supervisor has its 'ready', which may trail its log line by a moment).
      const newcomers: Conn[] = [];
      const newHolders: number[] = [];
      while (!newHolders.includes(freshPid)) {
        assert.ok(newcomers.length < 5, `no new client served by the replacement ${freshPid}: ${JSON.stringify(newHolders)}`);
        if (newcomers.length > 0) await sleep(200);
        const n = await ctx.connect();
        newcomers.push(n);
        newHolders.push(await ctx.holderOf(n.client));
      }
      if (newcomers.length === 1) {
        const n = await ctx.connect();
        newcomers.push(n);
        newHolders.push(await ctx.holderOf(n.client));
      }
      const inUse = survivors.map((s) => s.identity);
      const names = newcomers.map((n) => n.identity);
      assert.ok(names.every((n) => !inUse.includes(n)) && new Set(names).size === names.length, `newcomers get names not in use: ${JSON.stringify(names)}`);

      await chat(survivors[0]!, [...survivors.slice(1), ...newcomers], 'after the crash');
      const onFresh = newcomers[newHolders.indexOf(freshPid)]!;
      await chat(onFresh, [...survivors, ...newcomers.filter((n) => n !== onFresh)], 'from the newcomer');
    });
  });

  test('dedicated: kill -9 of a client\'s worker drops only that client; new clients are served', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withServer(['--placement', 'dedicated', '--spares', '1'], async (ctx) => {
      const conns: Conn[] = [];
      for (let i = 0; i < 3; i++) conns.push(await ctx.connect());
      await settled(conns);
      const holders = await Promise.all(conns.map((c) => ctx.holderOf(c.client)));
      const [victim, ...others] = conns as [Conn, ...Conn[]];
      process.kill(holders[0]!, 'SIGKILL');

      assert.ok(await within(victim.client.closed, 5000), 'the killed worker\'s client is disconnected');
      for (const o of others) await o.client.waitFor(left(victim.identity), 5000);
      await until(`killed worker ${holders[0]} reaped`, () => !proc.isAlive(holders[0]!) && !proc.isZombie(holders[0]!), 5000);
      await ctx.server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'worker died' && l.childPid === holders[0], 5000);
      assert.ok(others.every((o) => o.client.isOpen), 'the others stay connected');
      assert.ok(holders.slice(1).every((h) => proc.isAlive(h)), 'the other workers live on');

      const late = await ctx.connect();
      const hl = await ctx.holderOf(late.client);
      assert.ok(!holders.includes(hl), 'a newcomer gets a process of its own');
      await chat(others[0]!, [others[1]!, late], 'after the crash');
      await chat(late, others, 'from the newcomer');
    });
  });

  for (const placement of ['pool', 'dedicated'] as const) {
    const hubArgs = placement === 'pool' ? ['--workers', '2'] : ['--placement', 'dedicated', '--spares', '1'];
    test(`${placement}: kill -9 of the hub disconnects nobody; rooms, owners, members and names survive`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withServer(hubArgs, async (ctx) => {
        const conns: Conn[] = [];
        for (let i = 0; i < 4; i++) conns.push(await ctx.connect());
        await settled(conns);
        const holders = await Promise.all(conns.map((c) => ctx.holderOf(c.client)));
        const [a] = conns as [Conn];
        // A partner of a's on the other worker.
        const bi = holders.findIndex((h) => h !== holders[0]);
        assert.ok(bi > 0, `clients on two workers: ${JSON.stringify(holders)}`);
        const b = conns[bi]!;
        const [c, d] = conns.filter((x) => x !== a && x !== b) as [Conn, Conn];

        // State: a owns Lounge (a and b in it), d owns Attic (empty, d in MainHall), c is renamed.
        await ask(a, { type: 'createroom', roomid: 'Lounge' }, 'roomlist', (m) => (m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === 'Lounge'));
        await ask(a, { type: 'join', roomid: 'Lounge' }, 'roomchange', (m) => m.identity === a.identity && m.roomid === 'Lounge');
        await ask(b, { type: 'join', roomid: 'Lounge' }, 'roomchange', (m) => m.identity === b.identity && m.roomid === 'Lounge');
        await ask(d, { type: 'createroom', roomid: 'Attic' }, 'roomlist', (m) => (m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === 'Attic'));
        await ask(c, { type: 'identitychange', identity: 'Carol' }, 'newidentity', (m) => m.identity === 'Carol');
        c.identity = 'Carol';
        await d.client.waitFor((m) => m.type === 'newidentity' && m.identity === 'Carol');

        const snapshot = async (): Promise<unknown> => {
          const out: Record<string, unknown> = {};
          for (const room of ['MainHall', 'Lounge', 'Attic']) {
            const who = await ask(d, { type: 'who', roomid: room }, 'roomcontents', (m) => m.roomid === room);
            out[room] = { owner: who.owner, identities: [...(who.identities as string[])].sort() };
          }
          out.list = (await ask(a, { type: 'list' }, 'roomlist')).rooms;
          return out;
        };
        const before = await snapshot();
        assert.deepEqual(before, {
          MainHall: { owner: '', identities: ['Carol', d.identity].sort() },
          Lounge: { owner: a.identity, identities: [a.identity, b.identity].sort() },
          Attic: { owner: d.identity, identities: [] },
          list: [
            { roomid: 'MainHall', count: 2 },
            { roomid: 'Attic', count: 0 },
            { roomid: 'Lounge', count: 2 },
          ],
        });

        const oldHub = ctx.hubPid();
        const marks = conns.map((x) => x.client.received.length);
        process.kill(oldHub, 'SIGKILL');
        await ctx.server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'hub died; restarting it' && l.childPid === oldHub, 5000);
        const newHub = (await ctx.server.waitForLog((l) => l.role === 'hub' && l.msg === 'hub listening' && l.pid !== oldHub, 10_000)).pid as number;
        await ctx.server.waitForLog((l) => l.role === 'hub' && l.pid === newHub && l.msg === 'recovered', 10_000);
        ctx.record();
        assert.ok(!proc.isAlive(oldHub), 'old hub gone');
        assert.ok(proc.childPids(ctx.supPid).includes(newHub), 'new hub is a child of the supervisor');
        assert.equal(ctx.hubPid(), newHub);

        // Nobody was disconnected, and nobody was told anything (no leaves, no renames).
        await sleep(200);
        conns.forEach((x, i) => {
          assert.ok(x.client.isOpen, `${x.identity} still connected`);
          assert.deepEqual(x.client.received.slice(marks[i]), [], `${x.identity} got messages during the hub restart`);
        });
        assert.deepEqual(await ctx.holderOf(a.client), holders[0], 'a is still on its worker');

        assert.deepEqual(await snapshot(), before, 'who/list after the hub restart');

        await chat(a, [b], 'across workers after the hub restart');
        await chat(b, [a], 'and back');
        await chat(c, [d], 'MainHall still works');

        // A newcomer gets a fresh guest name: not one in use (the smallest free one, guest3 here).
        const taken = conns.map((x) => x.identity);
        const e = await ctx.connect();
        assert.ok(!taken.includes(e.identity), `newcomer got ${e.identity}, already in use among ${JSON.stringify(taken)}`);
        const free = [1, 2, 3, 4, 5, 6].map((n) => `guest${n}`).find((g) => !taken.includes(g));
        assert.equal(e.identity, free);
        await d.client.waitFor((m) => m.type === 'roomchange' && m.identity === e.identity && m.roomid === 'MainHall');
        await chat(e, [c, d], 'hello after the restart');
        // Owners still act as owners: a deletes Lounge, a and b move to MainHall.
        await ask(a, { type: 'delete', roomid: 'Lounge' }, 'roomlist', (m) => !(m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === 'Lounge'));
        await b.client.waitFor((m) => m.type === 'roomchange' && m.identity === b.identity && m.roomid === 'MainHall');
      });
    });

  }

  const stopCases = [
    { signal: 'SIGTERM' as const, placement: 'pool', args: ['--workers', '2'] },
    { signal: 'SIGTERM' as const, placement: 'dedicated', args: ['--placement', 'dedicated', '--spares', '2'] },
    { signal: 'SIGINT' as const, placement: 'pool', args: ['--workers', '2'] },
    { signal: 'SIGINT' as const, placement: 'dedicated', args: ['--placement', 'dedicated', '--spares', '2'] },
  ];
  for (const sc of stopCases) {
    test(`${sc.signal} (${sc.placement}): clients get SHUTTING_DOWN, exit 0, every process gone, no zombies`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withServer(sc.args, async (ctx) => {
        const conns: Conn[] = [];
        for (let i = 0; i < 4; i++) conns.push(await ctx.connect());
        await ask(conns[1]!, { type: 'createroom', roomid: 'Elsewhere' }, 'roomlist');
        await ask(conns[1]!, { type: 'join', roomid: 'Elsewhere' }, 'roomchange', (m) => m.roomid === 'Elsewhere');
        for (const c of conns) await ctx.holderOf(c.client);
        ctx.record();
        const pids = [...ctx.seen.keys()];
        assert.ok(pids.includes(ctx.hubPid()));
        assert.ok(pids.length >= 1 + 1 + (sc.placement === 'pool' ? 2 : 4), `recorded pids: ${JSON.stringify(pids)}`);
        const t0 = Date.now();

        const result = await ctx.server.stop(sc.signal);
        assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, `supervisor exit after ${sc.signal}`);
        for (const c of conns) {
          const err = await c.client.waitFor((m) => m.type === 'error', 2000);
          assert.equal(err.code, 'SHUTTING_DOWN', JSON.stringify(err));
          assert.ok(await within(c.client.closed, 5000), `${c.identity} closed`);
        }
        await assertAllGone(ctx, Math.max(0, 10_000 - (Date.now() - t0)));
        for (const pid of pids) assert.ok(!proc.isZombie(pid), `pid ${pid} is a zombie`);
      });
    });
  }
});
