/**
 * A generator process, forked by the bench runner: holds a share of the clients, connects
 * them, sends on schedule and records what they receive. The runner drives it with the
 * messages of ./messages; it exits on `close` or when the runner goes away.
 */
import type { BenchClient, DeliverySink } from './bench-client';
import { now, microsBetween } from './clock';
import { encode, newHistogram, type Histogram } from '../lib/histogram';
import { messageContent, paddingFor } from './line-scan';
import type { ClientPlan, ConnectJob, ConnectResult, Failure, GeneratorToParent, ParentToGenerator, RunJob, RunResult } from './messages';
import { NdjsonClient } from './ndjson-client';
import { SocketIoClient } from './socketio-client';
import { SocketIoLeanClient } from './socketio-lean-client';

/** A connect plus its join may take this long before it counts as failed. */
const CONNECT_TIMEOUT_MS = 60_000;

class Failures {
  count = 0;
  private readonly seen = new Map<string, number>();
  add(text: string): void {
    this.count++;
    this.seen.set(text, (this.seen.get(text) ?? 0) + 1);
  }
  report(): Failure {
    return { count: this.count, samples: [...this.seen].slice(0, 5).map(([t, n]) => `${n}x ${t}`) };
  }
}

/** Records deliveries against the current run's window. */
class Recorder implements DeliverySink {
  windowStart = Infinity;
  windowEnd = Infinity;
  latency: Histogram = newHistogram();
  inWindow = 0;
  ofWindow = 0;
  total = 0;
  lastAt = 0;
  disconnects = new Failures();
  /** Called on each delivery while a burst sender waits for its echoes. */
  wake: (() => void) | null = null;

  reset(windowStart: number, windowEnd: number): void {
    this.windowStart = windowStart;
    this.windowEnd = windowEnd;
    this.latency.reset();
    this.inWindow = this.ofWindow = this.total = 0;
    this.disconnects = new Failures();
  }

  delivery(sentAt: number, receivedAt: number): void {
    this.total++;
    this.lastAt = receivedAt;
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      setImmediate(w);
    }
    if (receivedAt >= this.windowStart && receivedAt < this.windowEnd) this.inWindow++;
    if (sentAt >= this.windowStart && sentAt < this.windowEnd) {
      this.ofWindow++;
      this.latency.recordValue(microsBetween(sentAt, receivedAt));
    }
  }

  closed(reason: string): void {
    this.disconnects.add(reason);
  }
}

const recorder = new Recorder();
const plans: ClientPlan[] = [];
const clients: Array<BenchClient | undefined> = [];
let connectJob: ConnectJob | undefined;

function reply(msg: GeneratorToParent): void {
  process.send!(msg);
}

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())));
}

function makeClient(i: number): BenchClient {
  const job = connectJob!;
  const addrs = job.localAddresses;
  const target = { host: job.host, port: job.port, localAddress: addrs && addrs.length > 0 ? addrs[i % addrs.length] : undefined };
  switch (job.protocol) {
    case 'ndjson':
      return new NdjsonClient(target, recorder);
    case 'socketio':
      return new SocketIoClient(target, recorder);
    case 'socketio-lean':
      return new SocketIoLeanClient(target, recorder);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/**
 * Connects (and joins) the clients at `indices`: at most `concurrency` at once, or with
 * `arriveOverMs`, each at its own moment, evenly spread over that window.
 */
async function connectAll(indices: number[], concurrency: number, arriveOverMs = 0): Promise<ConnectResult> {
  const open = newHistogram();
  const identity = newHistogram();
  const ready = newHistogram();
  const failures = new Failures();
  const cpu0 = process.cpuUsage();
  const firstStartAt = now();
  let lastIdentityAt = firstStartAt;
  let connected = 0;
  let next = 0;
  const one = async (i: number): Promise<void> => {
    const plan = plans[i]!;
    const client = makeClient(i);
    try {
      const t = await withTimeout(client.connect(), CONNECT_TIMEOUT_MS, 'connect');
      if (plan.room) await withTimeout(client.join(plan.room, plan.create ?? false), CONNECT_TIMEOUT_MS, 'join');
      const done = now();
      open.recordValue(microsBetween(t.start, t.open || t.identity));
      identity.recordValue(microsBetween(t.start, t.identity));
      ready.recordValue(microsBetween(t.start, done));
      if (t.identity > lastIdentityAt) lastIdentityAt = t.identity;
      clients[i] = client;
      connected++;
    } catch (err) {
      client.close();
      failures.add((err as Error).message);
    }
  };
  if (arriveOverMs > 0) {
    await Promise.all(indices.map((i, k) => sleepUntil(firstStartAt + (k * arriveOverMs) / indices.length).then(() => one(i))));
  } else {
    const lane = async (): Promise<void> => {
      while (next < indices.length) await one(indices[next++]!);
    };
    const lanes = concurrency > 0 ? Math.min(concurrency, indices.length) : indices.length;
    await Promise.all(Array.from({ length: lanes }, lane));
  }
  const cpu = process.cpuUsage(cpu0);
  const encoded = [open, identity, ready].map((h) => {
    const e = encode(h);
    h.destroy();
    return e;
  });
  return {
    type: 'connected',
    requested: indices.length,
    connected,
    failures: failures.report(),
    elapsedMs: lastIdentityAt - firstStartAt,
    firstStartAt,
    lastIdentityAt,
    open: encoded[0]!,
    identity: encoded[1]!,
    ready: encoded[2]!,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
  };
}

async function connect(job: ConnectJob): Promise<ConnectResult> {
  connectJob = job;
  const first = plans.length;
  plans.push(...job.clients);
  const indices = job.clients.map((_, k) => first + k);
  return connectAll(indices, job.concurrency, job.arriveOverMs);
}

async function run(job: RunJob): Promise<RunResult> {
  const windowStart = job.startAt + job.warmupMs;
  const windowEnd = windowStart + job.durationMs;
  recorder.reset(windowStart, windowEnd);
  const senders = job.senders.map((i) => clients[i]).filter((c): c is BenchClient => c !== undefined);
  const padding = paddingFor(job.size);
  let sentTotal = 0;
  let sentInWindow = 0;
  let skipped = 0;
  let lagMax = 0;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow = { user: 0, system: 0 };
  setTimeout(() => (cpuAtStart = process.cpuUsage()), Math.max(0, windowStart - now()));
  const cpuDone = new Promise<void>((resolve) =>
    setTimeout(() => {
      cpuInWindow = process.cpuUsage(cpuAtStart);
      resolve();
    }, Math.max(0, windowEnd - now())),
  );

  const sendOne = (client: BenchClient): void => {
    const stamp = now();
    client.send(messageContent(stamp, padding));
    sentTotal++;
    if (stamp >= windowStart && stamp < windowEnd) sentInWindow++;
  };

  await sleepUntil(job.startAt);
  if (senders.length > 0) {
    await new Promise<void>((resolve) => {
      if (job.ratePerSender > 0) {
        // Open loop on a schedule: each tick sends what is due; a sender whose socket holds
        // more than 4 MB unsent skips its turn (counted), as the server is not reading.
        const total = job.ratePerSender * senders.length;
        let issued = 0;
        const tick = (): void => {
          const t = now();
          if (t >= windowEnd) return resolve();
          const due = Math.floor(((t - job.startAt) * total) / 1000);
          if (due > issued) lagMax = Math.max(lagMax, t - (job.startAt + ((issued + 1) * 1000) / total));
          const touched = new Set<BenchClient>();
          for (; issued < due; issued++) {
            const c = senders[issued % senders.length]!;
            if (c.backlogged(4 << 20)) skipped++;
            else {
              sendOne(c);
              touched.add(c);
            }
          }
          for (const c of touched) c.flush();
          setTimeout(tick, 1);
        };
        tick();
      } else {
        // Burst, closed loop: in a sender process the deliveries are the senders' own
        // echoes, so sent - received is what is in flight; refill up to the cap on each echo.
        const cap = Math.max(1, job.inflight) * senders.length;
        let turn = 0;
        let seen = -1;
        // Echoes lost (a server that drops them) must not stall the loop for good.
        const watchdog = setInterval(() => {
          if (recorder.wake === pump && recorder.total === seen) pump();
          seen = recorder.total;
        }, 200);
        const pump = (): void => {
          recorder.wake = null;
          if (now() >= windowEnd) {
            clearInterval(watchdog);
            return resolve();
          }
          const room = cap - (sentTotal - recorder.total);
          for (let k = 0; k < room; k++) sendOne(senders[turn++ % senders.length]!);
          for (const c of senders) c.flush();
          recorder.wake = pump;
        };
        pump();
      }
    });
  }
  await cpuDone;
  // Drain: until nothing arrived for quietMs, at most drainMaxMs after the window.
  await new Promise<void>((resolve) => {
    const check = (): void => {
      const t = now();
      if (t - Math.max(recorder.lastAt, windowEnd) >= job.quietMs || t - windowEnd >= job.drainMaxMs) resolve();
      else setTimeout(check, 50);
    };
    check();
  });
  return {
    type: 'ran',
    sentInWindow,
    sentTotal,
    skipped,
    deliveriesInWindow: recorder.inWindow,
    deliveriesOfWindow: recorder.ofWindow,
    deliveriesTotal: recorder.total,
    latency: encode(recorder.latency),
    cpuUserUs: cpuInWindow.user,
    cpuSystemUs: cpuInWindow.system,
    disconnects: recorder.disconnects.report(),
    sendLagMaxMs: lagMax,
    drainedMs: now() - windowEnd,
  };
}

async function reconnect(startAt: number, concurrency: number): Promise<ConnectResult> {
  await sleepUntil(startAt);
  const indices: number[] = [];
  for (let i = 0; i < clients.length; i++) {
    const c = clients[i];
    if (!c) continue;
    c.close();
    clients[i] = undefined;
    indices.push(i);
  }
  return connectAll(indices, concurrency);
}

async function handle(msg: ParentToGenerator): Promise<void> {
  switch (msg.type) {
    case 'connect':
      return reply(await connect(msg));
    case 'run':
      return reply(await run(msg));
    case 'reconnect':
      return reply(await reconnect(msg.startAt, msg.concurrency));
    case 'close':
      for (const c of clients) c?.close();
      reply({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
      return;
  }
}

process.on('message', (msg: ParentToGenerator) => {
  handle(msg).catch((err: unknown) => reply({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }));
});
// The runner went away: nothing left to report to.
process.on('disconnect', () => process.exit(0));
