/**
 * The Switchboard load generator: `npm run bench -- <scenario> [options]`.
 * Run with `help` for the scenarios and options; docs/PERFORMANCE.md has the results.
 */
import fs from 'node:fs';
import { CLUSTER_USAGE, runCluster } from './cluster-case';
import { DEDICATED_MAX_CLIENTS, SCENARIOS, type RawOptions, type Scenario } from './cases';
import { printComparison, runCompared } from './compare';
import { describeMachine, machineLine, type Machine } from './report';
import { stopAll } from './scenarios/common';
import { renderSaved, runSuite } from './suite';
import type { ServerKind } from './targets/target';

const USAGE = `usage: npm run bench -- <scenario> [options]

scenarios (each starts the server it measures on 127.0.0.1, port 0, and stops it after):
  fanout         --receivers N (200) --rate MSG/S|burst (1000) --duration S (5) --warmup S (1) --size BYTES (64)
                 N receivers and one sender in one room; the sender sends at --rate, or with
                 burst as fast as the server takes them with --inflight N (100) not yet echoed.
  rooms          --clients C (10000) --rooms R (1000) --rate MSG/S per client|burst (1) --duration S (10) --warmup S (2)
                 [--inflight N (1), for burst]
  connect-storm  --clients K (2000) [--concurrency N (0 = all at once)] [--arrive-over MS (0)]
                 K clients connect and get their identity, then all close and reconnect at once.
                 --arrive-over spreads the first connects evenly over MS, right after the start.
  idle           --clients C (20000) --room-size S (100; 0 = stay in MainHall) --settle S (3)
                 RSS of every server process before and after; memory per connection.
${CLUSTER_USAGE}
  smoke          a few seconds of fanout with 4 receivers against Switchboard and the baseline;
                 exit 0 if traffic flowed (CI).
  suite          the documented set (fanout load sweep, burst, rooms, connect-storm, idle,
                 dedicated), --repeat N (3) times; writes bench/results/ (JSON, Markdown, SVG).
                 --only TEXT[,TEXT] reruns the cases whose name contains TEXT, keeping the rest.
  report         re-renders bench/results/latest.md and fanout-p99.svg from latest.json.

options for every scenario:
  --compare | --baseline   also run the Socket.IO baseline, print both with their ratio
  --server switchboard|socketio   which server alone (default switchboard)
  --placement pool|dedicated (pool)   --workers N (CPUs)   (dedicated: at most ${DEDICATED_MAX_CLIENTS} clients)
  --gen-procs N            generator processes holding the clients (fanout's sender has its own)
  --concurrency N          connects in flight per generator process (0: all at once)
  --server-node-args "FLAGS"   Node flags for every server process (children inherit them),
                           e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" for a profile per process
  --server-args "FLAGS"    extra \`switchboard serve\` flags, e.g. "--spares 8 --max-spares 32"
  --repeat N (1)           repeat and report medians      --json FILE   save every run
  --target HOST:PORT [--protocol ndjson|socketio] [--server-pid PID]   a server already running
`;

function parseArgs(argv: string[]): { command: string | undefined; raw: RawOptions } {
  const raw: RawOptions = {};
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      if (command !== undefined) throw new Error(`unexpected argument "${a}"`);
      command = a;
      continue;
    }
    const key = a.slice(2);
    const next = argv[i + 1];
    // Its value is itself a list of flags, so it may start with "--".
    const takesFlags = key === 'server-node-args' || key === 'server-args';
    if (['compare', 'baseline', 'force', 'quick'].includes(key)) raw[key] = 'true';
    else if (next === undefined || (next.startsWith('--') && !takesFlags)) throw new Error(`--${key} needs a value`);
    else raw[key] = argv[++i];
  }
  return { command, raw };
}

function serversOf(raw: RawOptions): ServerKind[] {
  if (raw.compare || raw.baseline) return ['switchboard', 'socketio'];
  const s = raw.server ?? 'switchboard';
  if (s !== 'switchboard' && s !== 'socketio') throw new Error('--server is switchboard or socketio');
  return [s];
}

async function smoke(): Promise<boolean> {
  const raw: RawOptions = { receivers: '4', rate: '200', duration: '2', warmup: '0.5', 'gen-procs': '1', workers: '2' };
  const servers: ServerKind[] = ['switchboard', 'socketio'];
  const runs = await runCompared('fanout', raw, servers, 1);
  printComparison('fanout', raw, runs, servers);
  // The lean Socket.IO client (used by the suite) must keep working too.
  const lean = await runCompared('fanout', { ...raw, 'sio-client': 'lean' }, ['socketio'], 1);
  const flowed = [...runs, ...lean].every((r) => r.ok && (r.metrics['deliveries/s'] ?? 0) > 0) && runs.length === 2 && lean.length === 1;
  console.log(flowed ? 'smoke: traffic flowed through both servers' : 'smoke: FAILED, no traffic through at least one server');
  return flowed;
}

async function main(): Promise<number> {
  const { command, raw } = parseArgs(process.argv.slice(2));
  if (!command || command === 'help' || raw.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const machine: Machine = describeMachine();
  console.log(machineLine(machine));
  if (command === 'smoke') return (await smoke()) ? 0 : 1;
  if (command === 'cluster') return (await runCluster(raw, machine)) ? 0 : 1;
  if (command === 'suite') return (await runSuite(raw, machine)) ? 0 : 1;
  if (command === 'report') {
    renderSaved();
    return 0;
  }
  if (!(SCENARIOS as readonly string[]).includes(command)) throw new Error(`unknown scenario "${command}"\n${USAGE}`);
  const scenario = command as Scenario;
  const servers = serversOf(raw);
  const repeat = Math.max(1, Number(raw.repeat ?? 1));
  const runs = await runCompared(scenario, raw, servers, repeat);
  printComparison(scenario, raw, runs, servers);
  if (raw.json) fs.writeFileSync(raw.json, JSON.stringify({ machine, argv: process.argv.slice(2), runs }, null, 2));
  return runs.some((r) => r.ok) ? 0 : 1;
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.error(`\n${sig}: stopping the servers and generators this bench started`);
    void stopAll().finally(() => process.exit(130));
  });
}

if (require.main === module) {
  main()
    .then(async (code) => {
      await stopAll();
      process.exit(code);
    })
    .catch(async (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      await stopAll();
      process.exit(2);
    });
}
