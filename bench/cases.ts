import os from 'node:os';
import type { Protocol } from './generator/messages';
import { connectStorm } from './scenarios/connect-storm';
import type { CommonOptions, RunReport } from './scenarios/common';
import { fanout } from './scenarios/fanout';
import { idle } from './scenarios/idle';
import { rooms } from './scenarios/rooms';
import type { ServerKind } from './targets/target';

export const SCENARIOS = ['fanout', 'rooms', 'connect-storm', 'idle'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Option values as given on the command line (`--rate 1000` -> { rate: '1000' }). */
export type RawOptions = Record<string, string | undefined>;

/** Dedicated placement is one process per client: refuse it past this many clients. */
export const DEDICATED_MAX_CLIENTS = 200;

/** A numeric option >= 0, or `fallback` when absent. */
export function num(raw: RawOptions, key: string, fallback: number): number {
  const v = raw[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${key} needs a number >= 0, got "${v}"`);
  return n;
}

/** The options every scenario takes, with a scenario's defaults. */
export function common(raw: RawOptions, server: ServerKind, clients: number, defaults: { genProcs: number; concurrency: number }): CommonOptions {
  const placement = raw.placement ?? 'pool';
  if (placement !== 'pool' && placement !== 'dedicated') throw new Error(`--placement is pool or dedicated, got "${placement}"`);
  if (placement === 'dedicated' && clients > DEDICATED_MAX_CLIENTS && raw.force === undefined) {
    throw new Error(`dedicated placement runs one process per client: ${clients} clients is more than ${DEDICATED_MAX_CLIENTS} (--force to insist)`);
  }
  let external: CommonOptions['external'];
  if (raw.target) {
    const m = /^(.+):(\d+)$/.exec(raw.target);
    if (!m) throw new Error(`--target is HOST:PORT, got "${raw.target}"`);
    const protocol = (raw.protocol ?? 'ndjson') as Protocol;
    if (!['ndjson', 'socketio', 'socketio-lean'].includes(protocol)) throw new Error('--protocol is ndjson, socketio or socketio-lean');
    external = { host: m[1]!, port: Number(m[2]), protocol, pid: raw['server-pid'] ? Number(raw['server-pid']) : undefined };
  }
  const sioClient = raw['sio-client'] ?? 'socket.io-client';
  if (sioClient !== 'socket.io-client' && sioClient !== 'lean') throw new Error('--sio-client is socket.io-client or lean');
  return {
    server,
    sioClient,
    serverNodeArgs: raw['server-node-args']?.split(' ').filter((a) => a !== '') ?? [],
    serverArgs: raw['server-args']?.split(' ').filter((a) => a !== '') ?? [],
    workers: num(raw, 'workers', os.availableParallelism()),
    placement,
    genProcs: Math.max(1, num(raw, 'gen-procs', defaults.genProcs)),
    concurrency: num(raw, 'concurrency', defaults.concurrency),
    external,
  };
}

/** The parameters a scenario runs with, from its command-line options and defaults. */
export function describe(scenario: Scenario, raw: RawOptions): Record<string, number | string> {
  switch (scenario) {
    case 'fanout':
      return { receivers: num(raw, 'receivers', 200), rate: raw.rate === 'burst' ? 0 : num(raw, 'rate', 1000), inflight: num(raw, 'inflight', 100), duration: num(raw, 'duration', 5), warmup: num(raw, 'warmup', 1), size: num(raw, 'size', 64) };
    case 'rooms':
      return { clients: num(raw, 'clients', 10_000), rooms: num(raw, 'rooms', 1000), rate: raw.rate === 'burst' ? 0 : num(raw, 'rate', 1), inflight: num(raw, 'inflight', 1), duration: num(raw, 'duration', 10), warmup: num(raw, 'warmup', 2), size: num(raw, 'size', 64) };
    case 'connect-storm':
      return { clients: num(raw, 'clients', 2000), arriveOver: num(raw, 'arrive-over', 0) };
    case 'idle':
      return { clients: num(raw, 'clients', 20_000), roomSize: num(raw, 'room-size', 100), settle: num(raw, 'settle', 3) };
  }
}

/** Runs one scenario once against one server. */
export function runScenario(scenario: Scenario, raw: RawOptions, server: ServerKind): Promise<RunReport> {
  const p = describe(scenario, raw) as Record<string, number>;
  switch (scenario) {
    case 'fanout':
      return fanout({
        ...common(raw, server, p.receivers! + 1, { genProcs: p.receivers! >= 50 ? 2 : 1, concurrency: 100 }),
        receivers: p.receivers!,
        rate: p.rate!,
        inflight: p.inflight!,
        durationS: p.duration!,
        warmupS: p.warmup!,
        size: p.size!,
      });
    case 'rooms':
      return rooms({
        ...common(raw, server, p.clients!, { genProcs: 2, concurrency: 100 }),
        clients: p.clients!,
        rooms: Math.max(1, p.rooms!),
        rate: p.rate!,
        inflight: p.inflight!,
        durationS: p.duration!,
        warmupS: p.warmup!,
        size: p.size!,
      });
    case 'connect-storm':
      return connectStorm({ ...common(raw, server, p.clients!, { genProcs: 2, concurrency: 0 }), clients: p.clients!, arriveOverMs: p.arriveOver! });
    case 'idle':
      return idle({
        ...common(raw, server, p.clients!, { genProcs: Math.max(1, Math.ceil(p.clients! / 8000)), concurrency: 50 }),
        clients: p.clients!,
        roomSize: p.roomSize!,
        settleS: p.settle!,
      });
  }
}
