import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CountingClient,
  Prng,
  addCounts,
  countsText,
  crashLines,
  hubPid,
  rssByProcess,
  seedFrom,
  sleep,
  totalRssKb,
  until,
  workerPids,
} from '../helpers/chaos';
import { TestClient } from '../helpers/client';
import { ControlPair } from '../helpers/control-pair';
import { FuzzInputs } from '../helpers/fuzz-inputs';
import { startServer, type RunningServer } from '../helpers/server';

/**
 * Network fuzz: hostile clients throw random bytes, random JSON and mutated messages at a real
 * server (pool, 2 workers) for a bounded time, reconnecting whenever they are closed, while a
 * control pair chats in a room of its own. Then: no server process restarted, the pair lost
 * nothing, every line the server sent was JSON, nothing failed inside the server (no
 * INTERNAL_ERROR, no error-level log line), a new client is served, and memory came back.
 *
 * FUZZ_SECONDS (default 8) sets the length (after a warm-up of FUZZ_WARMUP_SECONDS, by default
 * as long, which sets the memory baseline), FUZZ_CLIENTS (default 6) the fuzzers, FUZZ_SEED replays a
 * run: every input comes from a PRNG seeded with it (timing still varies).
 */

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 8);
const FUZZERS = Number(process.env.FUZZ_CLIENTS ?? 6);
// As long as the measured run: a process's heap grows to its high-water mark during the first
// run of a load, and only growth beyond that (a second, identical run) would be a leak.
const WARMUP_SECONDS = Number(process.env.FUZZ_WARMUP_SECONDS ?? SECONDS);
const MAX_LINE_BYTES = 65536;
/** Memory the server may keep after the run, over what it held before. */
const RSS_SLACK_KB = 50 * 1024;

interface Stats {
  inputs: number;
  bytes: number;
  connections: number;
  connectFailures: number;
  closedByServer: number;
  serverLines: number;
  byKind: Map<string, number>;
  errors: Map<string, number>;
  /** The error code each connection closed by the server got last. */
  closeReasons: Map<string, number>;
  badLines: string[];
}

/** One fuzzer: connects, sends generated input until closed (or done with it), reconnects, until `deadline`. */
async function fuzzer(port: number, r: Prng, rooms: string[], deadline: number, stats: Stats): Promise<void> {
  const inputs = new FuzzInputs(r, rooms, MAX_LINE_BYTES);
  while (Date.now() < deadline) {
    let c: CountingClient;
    try {
      c = await CountingClient.connect(port);
    } catch {
      stats.connectFailures++;
      await sleep(50);
      continue;
    }
    stats.connections++;
    // Half declare themselves extended first (so every error they cause is counted); the others
    // start core, and become extended only if the fuzz sends them a non-core type.
    if (r.chance(0.5)) await c.write(JSON.stringify({ type: 'hello', capabilities: ['extended'] }) + '\n');
    const lifetime = r.pick([1, 5, 50, 200, 1000]);
    for (let k = 0; k < lifetime && !c.isClosed && Date.now() < deadline; k++) {
      const input = inputs.next();
      stats.inputs++;
      stats.bytes += Buffer.byteLength(input.data);
      stats.byKind.set(input.kind, (stats.byKind.get(input.kind) ?? 0) + 1);
      await c.write(input.data, 500);
      if (r.chance(0.3)) await sleep(r.int(0, 4));
    }
    const byServer = c.isClosed;
    if (!byServer) {
      // Leave the way clients do: politely, abruptly, or half-closed with a line unfinished.
      const how = r.int(0, 3);
      if (how === 0) await c.write('{"type":"quit"}\n');
      else if (how === 1) c.socket.end('{"type":"mess');
      await sleep(r.int(0, 20));
    }
    await c.destroy();
    if (byServer) {
      stats.closedByServer++;
      const reason = c.lastError ?? '(no error line)';
      stats.closeReasons.set(reason, (stats.closeReasons.get(reason) ?? 0) + 1);
    }
    stats.serverLines += c.lines;
    addCounts(stats.errors, c.errors);
    stats.badLines.push(...c.badLines.slice(0, 5 - Math.min(5, stats.badLines.length)));
  }
}

/**
 * Connects and is welcomed; a TOO_MANY_CONNECTIONS refusal (a close before any line) is retried
 * until `timeoutMs`.
 */
async function welcomedRetrying(port: number, timeoutMs: number): Promise<{ client: TestClient; identity: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = await TestClient.connect(port);
    const first = await client.next(10_000).catch((err: Error) => err);
    if (!(first instanceof Error) && first.type === 'newidentity') {
      await client.waitFor((m) => m.type === 'roomcontents');
      return { client, identity: first.identity as string };
    }
    await client.close();
    const refusedAtAdmission = first instanceof Error && client.received.length === 0;
    if (!refusedAtAdmission || Date.now() > deadline) {
      throw new Error(`a new client was not welcomed: ${first instanceof Error ? first.message : JSON.stringify(first)}`);
    }
    await sleep(250);
  }
}

async function settledRss(server: RunningServer, below: number, timeoutMs: number): Promise<number> {
  let rss = totalRssKb(server);
  const deadline = Date.now() + timeoutMs;
  while (rss >= below && Date.now() < deadline) {
    await sleep(250);
    rss = totalRssKb(server);
  }
  return rss;
}

test(`network fuzz: ${FUZZERS} hostile clients for ${SECONDS} s beside a control pair; no crash, nothing lost, memory back`, { timeout: (WARMUP_SECONDS + SECONDS + 60) * 1000 }, async (t) => {
  const seed = seedFrom('FUZZ_SEED');
  t.diagnostic(`seed ${seed} (replay with FUZZ_SEED=${seed})`);
  const root = new Prng(seed);
  const server = await startServer({
    // The rate limit is raised so that it never touches the control pair (50 messages/s each);
    // the per-address cap so that the fuzzers' churn (all from 127.0.0.1) mostly reaches the parsers.
    args: [
      '--host', '127.0.0.1', '--placement', 'pool', '--workers', '2', '--rate-limit', '500', '--rate-burst', '500',
      '--max-connections-per-address', '256', '--max-line-bytes', String(MAX_LINE_BYTES),
    ],
  });
  const stats: Stats = {
    inputs: 0, bytes: 0, connections: 0, connectFailures: 0, closedByServer: 0, serverLines: 0,
    byKind: new Map(), errors: new Map(), closeReasons: new Map(), badLines: [],
  };
  let pair: ControlPair | null = null;
  try {
    const hub0 = hubPid(server);
    const workers0 = await until('both workers up', () => (workerPids(server).length === 2 ? workerPids(server) : null), 10_000);
    const room = `Ctl${seed.toString(36)}`;
    pair = await ControlPair.open(server.port, room, 'ctl');
    const rssCold = totalRssKb(server);
    pair.start(20);
    const rooms = ['Fz0', 'Fz1', 'Fz2', 'Fz3', 'MainHall', room];
    const fuzzFor = (seconds: number): Promise<void[]> => {
      const deadline = Date.now() + seconds * 1000;
      return Promise.all(Array.from({ length: FUZZERS }, () => fuzzer(server.port, root.fork(), rooms, deadline, stats)));
    };
    // Warm-up: the same fuzz, as long, so that the memory baseline includes what any busy
    // process grows to at first (heap spaces, JIT code, caches) and the bound is on growth.
    await fuzzFor(WARMUP_SECONDS);
    await sleep(1000);
    const rss0 = totalRssKb(server);
    const rssBefore = rssByProcess(server);

    const t0 = Date.now();
    await fuzzFor(SECONDS);
    const fuzzMs = Date.now() - t0;
    await pair.stop(15_000);
    const report = pair.report();

    t.diagnostic(
      `fuzz inputs tried ${stats.inputs} (${(stats.bytes / 1048576).toFixed(1)} MiB) in ${WARMUP_SECONDS} s of warm-up + ${fuzzMs} ms over ${stats.connections} connections ` +
        `(${stats.closedByServer} closed by the server, for cause or after a quit; ${stats.connectFailures} connects failed); server lines ${stats.serverLines}`,
    );
    t.diagnostic(`inputs by kind ${countsText(stats.byKind)}`);
    t.diagnostic(`errors received ${countsText(stats.errors)}; last error seen on connections the server closed ${countsText(stats.closeReasons)}`);
    t.diagnostic(`control pair: sent A ${report.sent.A}, B ${report.sent.B}; lost ${report.lost}; latency max ${report.maxLatencyMs} ms, p99 ${report.p99LatencyMs} ms`);

    // No server process restarted.
    assert.deepEqual(crashLines(server), [], 'no worker or hub died');
    assert.equal(hubPid(server), hub0, 'the hub is the one that started');
    assert.deepEqual(workerPids(server), workers0, 'the workers are the ones that started');
    // Nothing failed inside the server, and everything it said was a protocol line.
    const failures = server.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).map((l) => JSON.stringify(l).slice(0, 400));
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} error-level server log line(s)`);
    assert.equal(stats.errors.get('INTERNAL_ERROR') ?? 0, 0, 'INTERNAL_ERROR sent to a fuzzer');
    assert.deepEqual(stats.badLines, [], 'server lines that are not a JSON object with a string type');
    // The control pair lost nothing and saw nothing wrong.
    assert.deepEqual(report.incidents, [], 'the control pair was disturbed');
    assert.deepEqual(report.problems, [], 'the control pair streams are complete and in order');
    assert.equal(report.lost, 0, 'control messages lost');
    assert.ok(report.sent.A > 0 && report.sent.B > 0, 'the control pair chatted');

    // A new client is served. Connections the server closed for cause (LINE_TOO_LONG, ...) count
    // against the address until they are destroyed, up to 2 s later: a refusal meanwhile is retried.
    const fresh = await welcomedRetrying(server.port, 5000);
    fresh.client.send({ type: 'list' });
    const list = await fresh.client.waitFor((m) => m.type === 'roomlist');
    assert.ok((list.rooms as Array<{ roomid: string }>).some((r) => r.roomid === room), `the control room is listed: ${JSON.stringify(list)}`);
    await fresh.client.close();

    // Memory back within a bound of where it began.
    await pair.close();
    const rss1 = await settledRss(server, rss0 + RSS_SLACK_KB, 5000);
    t.diagnostic(`server RSS (all processes) ${Math.round(rssCold / 1024)} MiB cold, ${Math.round(rss0 / 1024)} MiB after the warm-up, ${Math.round(rss1 / 1024)} MiB after the run and settling`);
    t.diagnostic(`RSS kB by process: before ${JSON.stringify(rssBefore)}, after ${JSON.stringify(rssByProcess(server))}`);
    // The first run takes V8's heaps to their high-water mark (they are not given back to the
    // OS at once); a leak would keep growing through the second.
    assert.ok(rss1 < rss0 + RSS_SLACK_KB, `server RSS ${rss1} kB after the run, more than ${RSS_SLACK_KB} kB over ${rss0} kB after the warm-up run`);
  } finally {
    await pair?.close();
    await server.stop();
  }
});
