import type net from 'node:net';
import os from 'node:os';
import type { Logger } from 'pino';
import type { LoadInput } from '../config/load';
import type { Config } from '../config/schema';
import { ControlCode, ControlError } from '../ipc/control-protocol';
import { controlSocketPath } from '../ipc/paths';
import type { ChildToSupervisor } from '../ipc/supervisor-messages';
import { supervisorMetrics } from '../metrics/supervisor-metrics';
import { closingJsonAnswer } from '../net/http-refusal';
import { readTlsFiles, type TlsCertInfo, type TlsMaterial } from '../net/tls';
import { ErrorCode } from '../protocol/errors';
import { advertisedHttp } from '../protocol/capabilities';
import { AddressLimit } from './address-limit';
import { Backoff } from './backoff';
import { Child } from './child';
import { ChildRequests } from './child-requests';
import { SupervisorControl, type ControlledServer } from './control-host';
import { ControlServer } from './control-server';
import { claimDataDir } from './data-dir';
import { DedicatedPlacement } from './dedicated-placement';
import { closeListeners, listenerKind, openListeners, type ListenAddresses } from './listeners';
import type { Placement, PlacementHost } from './placement';
import { PoolPlacement } from './pool-placement';
import { Upgrade, type UpgradeResult } from './upgrade';
import { readReload, type ReloadReport } from './reload-settings';
import type { ListenerStatus } from './status';
import { MAX_PLACEMENTS, PlacementCount } from './placement-count';
import { WaitDeadline } from './wait-deadline';
import { WaitLog } from './wait-log';

/**
 * The primary process: accepts, admits and places clients, runs the hub and the workers,
 * restarts what crashes, and stops everything in order.
 */
export class Supervisor implements PlacementHost, ControlledServer {
  stopping = false;
  readonly startedAt = Date.now();
  /** Answers of children to requests (figures, console requests). */
  private readonly requests = new ChildRequests();
  private control: ControlServer | null = null;
  private addresses: ListenAddresses | null = null;
  /** The operators' HTTP server (`--metrics-port`): runServe starts it, this shows it in `status`. */
  private metricsAddress: { host: string; port: number } | null = null;
  private clients = 0;
  private nextWorkerId = 1;
  private hub: Child | null = null;
  private hubReady: (() => void) | null = null;
  private readonly hubBackoff = new Backoff();
  private readonly placement: Placement;
  private servers: net.Server[] = [];
  /** `maxConnectionsPerAddress`: TCP connections per remote address, from accept to close. */
  private readonly perAddress: AddressLimit<Child>;
  /** The id each counted connection travels with (to its worker and back in 'session-closed'). */
  private readonly connIds = new WeakMap<net.Socket, number>();
  /** How often each client was placed (at most MAX_PLACEMENTS), and since when it waits. */
  private readonly placements = new PlacementCount();
  /** Refuses the clients that waited `workerWaitMs` for a ready worker. */
  private readonly waitDeadline: WaitDeadline;
  private readonly waitLog: WaitLog;
  private refusedSinceWarn = 0;
  private lastRefusalWarn = 0;
  /** The certificate pair workers handshake with (read at start, replaced on SIGHUP); null: no TLS. */
  private tls: TlsMaterial | null = null;
  /** The upgrade under way (SIGUSR2, `switchboard upgrade`), if any: one at a time. */
  private upgrading: Upgrade | null = null;

  constructor(
    /** The settings in force: replaced by a reload (children spawned later get the new one). */
    public config: Config,
    private readonly log: Logger,
    /** How the config was read at start, to read it again on a reload; null: only the TLS pair is reloaded. */
    private readonly loadInput: LoadInput | null = null,
  ) {
    this.perAddress = new AddressLimit(config.maxConnectionsPerAddress);
    this.placement =
      config.placement === 'dedicated'
        ? new DedicatedPlacement(this, {
            minSpares: config.spares,
            maxSpares: config.maxSpares,
            maxProcesses: config.maxProcesses,
            maxStarting: os.availableParallelism(),
          })
        : new PoolPlacement(this, config.workers);
    this.waitDeadline = new WaitDeadline(this.placement.waiting, () => this.config.workerWaitMs, (late) => this.refuseLate(late));
    this.waitLog = new WaitLog(log, config.placement);
  }

  async start(): Promise<ListenAddresses> {
    // A bad certificate stops the start before any process is spawned.
    if (this.usesTls) {
      const { material, info } = readTlsFiles(this.config.tlsCert!, this.config.tlsKey!);
      this.tls = material;
      this.logCertificate(info, 'TLS certificate loaded');
    }
    await claimDataDir(this.config.dataDir);
    await new Promise<void>((resolve) => {
      this.hubReady = resolve;
      this.startHub();
    });
    await this.placement.start();
    const { servers, addresses } = await openListeners(this.config, (socket) => {
      supervisorMetrics.acceptedOn(listenerKind(socket), socket.remoteAddress);
      this.admit(socket);
    });
    this.servers = servers;
    this.addresses = addresses;
    // The ports as bound (a configured 0 is known only now), for the workers' `hello` replies.
    for (const w of this.placement.workers()) w.send({ type: 'listening', http: advertisedHttp(addresses) });
    // Last: a status or admin request can be served once the socket answers.
    this.control = new ControlServer(controlSocketPath(this.config.dataDir), new SupervisorControl(this, this.requests), this.log);
    await this.control.start();
    return addresses;
  }

  spawnWorker(): Child {
    const child = new Child('worker', this.nextWorkerId++, this.config, { SB_WORKER_ID: String(this.nextWorkerId - 1) }, (c, m, h) => this.onChildMessage(c, m, h));
    this.log.debug({ workerId: child.id, childPid: child.pid }, 'worker started');
    // Ahead of any client on the same channel, so the worker has it before its first handshake.
    if (this.tls) child.send({ type: 'reload-tls', ...this.tls });
    if (this.addresses) child.send({ type: 'listening', http: advertisedHttp(this.addresses) });
    // 'close', not 'exit': by then the sockets it never took have been placed again (Child.closed).
    void child.closed.then(({ code, signal }) => {
      const lost = child.sessions;
      this.clients -= lost;
      child.sessions = 0;
      this.perAddress.releaseWorker(child);
      const clean = code === 0 && signal === null;
      if (!this.stopping && !(clean && (this.config.placement === 'dedicated' || child.upgradedAway))) {
        this.log.error({ workerId: child.id, childPid: child.pid, code, signal, clientsLost: lost }, 'worker died');
        supervisorMetrics.restarts.incFor('worker');
      }
      this.placement.onExit(child, Date.now() - child.startedAt);
      this.hub?.send({ type: 'worker-exited', workerId: child.id });
    });
    return child;
  }

  handOff(worker: Child, socket: net.Socket): void {
    worker.sessions++;
    this.clients++;
    const connId = this.connIds.get(socket);
    if (connId !== undefined) this.perAddress.placed(connId, worker);
    worker.handOff(socket, listenerKind(socket), connId, (why) => {
      // The worker never had the socket (src/supervisor/hand-offs.ts): it is not its client.
      worker.sessions--;
      this.clients--;
      if (connId !== undefined) this.perAddress.release(connId);
      // Its channel is closed: it is dying, its exit not seen yet. No more clients for it, so
      // placing again cannot pick it (each placement again follows a worker failing: no loop).
      if (why === 'gone') worker.ready = false;
      if (this.stopping || socket.destroyed) {
        socket.destroy();
        return;
      }
      const placements = this.placements.placements(socket);
      if (placements >= MAX_PLACEMENTS) {
        // Workers die as they get clients (one dying as soon as it is ready, over and over):
        // refused as a client over the cap is (its address slot was released above).
        this.refuse(socket, ErrorCode.TOO_MANY_USERS, `no worker took the connection (${placements} tries); try again later`);
        this.waitLog.refusedBounced(placements);
        return;
      }
      // Nothing of it has been read (sockets stay paused here): another worker can serve it as new.
      this.log.warn({ workerId: worker.id, why, remote: socket.remoteAddress }, 'a worker did not take a client; placing it again');
      this.admit(socket);
    });
  }

  /**
   * SIGHUP: reads the certificate files again and, if they are good, gives the pair to every
   * worker for its new connections; open sessions keep theirs. A bad pair is logged and the
   * one in use stays.
   */
  reloadTls(): ReloadReport['tls'] {
    if (this.stopping) return null;
    if (!this.usesTls) {
      this.log.debug('reload: TLS is off, no certificate to reload');
      return null;
    }
    let loaded;
    try {
      loaded = readTlsFiles(this.config.tlsCert!, this.config.tlsKey!);
    } catch (err) {
      this.log.error({ err, tlsCert: this.config.tlsCert, tlsKey: this.config.tlsKey }, 'TLS reload failed; still serving the previous certificate');
      return { reloaded: false, error: (err as Error).message };
    }
    this.tls = loaded.material;
    const workers = this.placement.workers();
    for (const w of workers) w.send({ type: 'reload-tls', ...loaded.material });
    this.logCertificate(loaded.info, 'TLS certificate reloaded; new connections use it', { workers: workers.length });
    return { reloaded: true };
  }

  /**
   * SIGHUP, `switchboard reload`: reads the configuration again; the live settings that changed
   * apply at once (here, and in the hub and every worker, whose sessions read them live), the
   * restart-only ones are named in the log and kept; an invalid configuration changes nothing
   * (ControlError CONFIG_INVALID). The TLS pair is read again in any case.
   */
  async reload(): Promise<ReloadReport> {
    if (this.stopping) throw new ControlError(ControlCode.UNAVAILABLE, 'the server is stopping');
    const plan = this.loadInput ? readReload(this.loadInput, this.config, this.log) : { config: this.config, applied: [], ignored: [] };
    if (plan.applied.length > 0) {
      this.config = plan.config;
      this.log.level = this.config.logLevel;
      this.perAddress.setMax(this.config.maxConnectionsPerAddress);
      this.waitDeadline.rearm();
      for (const child of [this.hub, ...this.placement.workers()]) child?.send({ type: 'reload-config', config: this.config });
    }
    return { applied: plan.applied, ignored: plan.ignored, tls: this.reloadTls() };
  }

  clientCount(): number {
    return this.clients;
  }

  hubChild(): Child | null {
    return this.hub;
  }

  workerChildren(): Child[] {
    return this.placement.workers();
  }

  listeners(): ListenerStatus[] {
    const out: ListenerStatus[] = [];
    const a = this.addresses;
    const at = (host: string, p: number): string => (host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`);
    if (a?.port != null) out.push({ kind: 'tcp', address: at(a.host, a.port) });
    if (a?.tlsPort != null) out.push({ kind: 'tls', address: at(a.host, a.tlsPort) });
    if (a?.unixSocket) out.push({ kind: 'unix', address: a.unixSocket });
    if (a?.httpPort != null) out.push({ kind: 'http', address: at(a.host, a.httpPort) });
    if (a?.httpsPort != null) out.push({ kind: 'https', address: at(a.host, a.httpsPort) });
    if (this.metricsAddress) out.push({ kind: 'metrics', address: at(this.metricsAddress.host, this.metricsAddress.port) });
    if (this.control) out.push({ kind: 'control', address: this.control.socketPath });
    return out;
  }

  /** Where the metrics server listens (the port it took when `--metrics-port 0`), for `status`. */
  showMetricsListener(address: { host: string; port: number }): void {
    this.metricsAddress = { host: address.host, port: address.port };
  }

  /** A TLS or HTTPS listener is configured: workers need the certificate pair. */
  private get usesTls(): boolean {
    return this.config.tlsPort !== null || this.config.httpsPort !== null;
  }

  private logCertificate(info: TlsCertInfo, msg: string, extra: object = {}): void {
    const fields = { tlsCert: this.config.tlsCert, ...info, ...extra };
    if (info.expired) this.log.warn(fields, `${msg}; it has EXPIRED, clients will refuse it`);
    else this.log.info(fields, msg);
  }

  /**
   * SIGUSR2 / `switchboard upgrade`: replaces every worker by one started from the code on disk
   * now, moving plain sessions over on their own connections (src/supervisor/upgrade.ts).
   * Refused, with the reason in the result, while another upgrade runs or the server stops.
   */
  async upgrade(): Promise<UpgradeResult> {
    const refused = (error: string): UpgradeResult => ({ ok: false, error, workersReplaced: 0, oldPids: [], newPids: [], sessionsMoved: 0, sessionsClosed: {}, durationMs: 0 });
    if (this.stopping) return refused('the server is stopping');
    if (this.upgrading) return refused('an upgrade is already running');
    const upgrade = new Upgrade(
      {
        placement: this.placement,
        spawnWorker: () => this.spawnWorker(),
        sessionMoved: (from, to, connId) => {
          if (from.sessions > 0) from.sessions--;
          to.sessions++;
          if (connId !== undefined) this.perAddress.placed(connId, to);
        },
      },
      this.log,
    );
    this.upgrading = upgrade;
    try {
      return await upgrade.run();
    } finally {
      this.upgrading = null;
    }
  }

  /** SIGTERM/SIGINT: stop accepting, let workers say goodbye, then the hub; kill what lingers. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    this.log.info({ clients: this.clients }, 'shutting down');
    closeListeners(this.servers, this.config);
    this.control?.close();
    this.waitDeadline.stop();
    for (const socket of this.placement.waiting.takeAll()) this.refuse(socket, ErrorCode.SHUTTING_DOWN, 'server is shutting down');
    const workers = [...new Set([...this.placement.workers(), ...(this.upgrading?.children() ?? [])])];
    for (const w of workers) w.send({ type: 'shutdown' });
    await waitOrKill(workers, deadline - 500);
    if (this.hub) {
      this.hub.send({ type: 'shutdown' });
      await waitOrKill([this.hub], deadline);
    }
    this.log.info('stopped');
  }

  private admit(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.stopping) return this.refuse(socket, ErrorCode.SHUTTING_DOWN, 'server is shutting down');
    // Known from accept(), before a byte is read; Unix-socket clients have none and are exempt.
    const address = socket.remoteAddress;
    if (address !== undefined) {
      const connId = this.perAddress.admit(address);
      if (connId === null) {
        this.warnRefusedAddress(address);
        return this.refuse(socket, ErrorCode.TOO_MANY_CONNECTIONS, `too many connections from your address (at most ${this.config.maxConnectionsPerAddress})`);
      }
      this.connIds.set(socket, connId);
    }
    // A client placed again keeps the start of its first wait: --worker-wait-ms bounds how long
    // a client waits from its connect, not from the last worker that failed it. Only the wait
    // is kept: the deadline still refuses no one while workers keep coming up (wait-deadline.ts).
    const { since, again } = this.placements.placing(socket);
    // Clients waiting for a worker count too: the wait for replacements is bounded by the same cap.
    if (this.clients + this.placement.waiting.length >= this.config.maxClients || !this.placement.place(socket, since)) {
      const connId = this.connIds.get(socket);
      if (connId !== undefined) this.perAddress.release(connId);
      this.log.warn({ clients: this.clients, remote: socket.remoteAddress }, 'refused a client: too many users');
      this.refuse(socket, ErrorCode.TOO_MANY_USERS, 'too many users; try again later');
      return;
    }
    // Clients wait when no worker is ready (all of them starting or being replaced).
    this.waitLog.waiting(this.placement.waiting.length);
    // One placed again may now head the line, due before the client the timer was set for.
    if (again) this.waitDeadline.rearm();
    else this.waitDeadline.arm();
  }

  /**
   * Clients that waited `workerWaitMs` for a ready worker while none became ready (workers crash
   * at start, or hang in it): refused as a client over the cap is (TOO_MANY_USERS in the
   * metrics, no line), their address slots freed; they may come back when workers do.
   */
  private refuseLate(sockets: net.Socket[]): void {
    for (const socket of sockets) {
      const connId = this.connIds.get(socket);
      if (connId !== undefined) this.perAddress.release(connId);
      this.refuse(socket, ErrorCode.TOO_MANY_USERS, `no worker ready within ${this.config.workerWaitMs} ms; try again later`);
    }
    this.waitLog.refusedLate(sockets.length, this.placement.waiting.length, this.config.workerWaitMs);
  }

  /**
   * Refuses a client the supervisor will not place: the connection is closed, without a line.
   * The client has said nothing yet, so it is a core client (src/protocol/capabilities.ts),
   * which must receive no `error` line; TLS clients are not even handshaken, so a refusal costs
   * the supervisor no crypto under a connect flood. The reason is logged by the caller or here.
   * The plain HTTP listener's clients are told instead, by a fixed answer written without
   * reading their request (see httpRefusal); HTTPS ones get today's silent close, unhandshaken.
   */
  private refuse(socket: net.Socket, code: ErrorCode, reason: string): void {
    this.log.debug({ code, reason, remote: socket.remoteAddress }, 'refused a connection');
    supervisorMetrics.refused.incFor(code);
    // Bytes it sent meanwhile (a hello) are discarded unread, so the close is a clean FIN, not a reset.
    socket.resume();
    if (listenerKind(socket) === 'http') socket.end(httpRefusal(code, reason));
    else socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** A connect flood from one address must not flood the log too: one line per 10 s at most. */
  private warnRefusedAddress(address: string): void {
    this.refusedSinceWarn++;
    const now = Date.now();
    if (now - this.lastRefusalWarn < 10_000) return;
    this.log.warn({ remote: address, refused: this.refusedSinceWarn, max: this.config.maxConnectionsPerAddress }, 'refused connections: too many from one address');
    this.lastRefusalWarn = now;
    this.refusedSinceWarn = 0;
  }

  private startHub(): void {
    // Workers that were serving must re-register before the restarted hub serves anyone.
    const expect = this.placement.workers().filter((w) => w.ready && w.alive).map((w) => w.id);
    const hub = new Child('hub', 0, this.config, { SB_EXPECT_WORKERS: expect.join(',') }, (c, m) => this.onChildMessage(c, m));
    this.hub = hub;
    void hub.exited.then(({ code, signal }) => {
      if (this.stopping) return;
      const delay = this.hubBackoff.next(Date.now() - hub.startedAt);
      this.log.error({ childPid: hub.pid, code, signal, restartInMs: delay }, 'hub died; restarting it');
      supervisorMetrics.restarts.incFor('hub');
      setTimeout(() => {
        if (!this.stopping) this.startHub();
      }, delay);
    });
  }

  /** The hub now running (null before its first start) and the workers placement holds (metrics, readiness). */
  processes(): { hub: Child | null; workers: Child[] } {
    return { hub: this.hub, workers: this.placement.workers() };
  }

  private onChildMessage(child: Child, msg: ChildToSupervisor, handle?: object): void {
    if (msg.type === 'ready') {
      child.ready = true;
      if (child.role === 'hub') {
        this.log.info({ childPid: child.pid }, 'hub ready');
        this.hubReady?.();
        this.hubReady = null;
      } else if (this.upgrading?.owns(child)) {
        this.upgrading.onReady(child);
      } else if (child.upgradedAway) {
        // A new worker of an upgrade called off, ready just as it was killed: not for placement.
      } else {
        this.waitDeadline.progressed();
        this.placement.onReady(child);
        this.waitLog.waiting(this.placement.waiting.length);
      }
    } else if (msg.type === 'stopping') {
      // Not ready any more: placement passes it over while it says goodbye to its clients.
      child.ready = false;
      this.log.warn({ workerId: child.id, childPid: child.pid }, 'worker stopping by itself; no new clients for it');
    } else if (msg.type === 'handed' || msg.type === 'handoff-done') {
      if (this.upgrading) this.upgrading.onOldWorkerMessage(child, msg, handle);
      else (handle as { close?: () => void } | undefined)?.close?.();
    } else if (msg.type === 'stats' || msg.type === 'console-reply') {
      this.requests.settle(msg);
    } else if (msg.type === 'session-closed') {
      if (typeof msg.connId === 'number') this.perAddress.release(msg.connId);
      if (child.sessions > 0) {
        child.sessions--;
        this.clients--;
      }
    }
  }
}

/** Seconds a refused HTTP client is asked to wait (Retry-After): load passes, a restart ends. */
const REFUSED_RETRY_AFTER_S = 5;

/**
 * The answer to an HTTP connection refused for load: 429 when its own address has too many
 * connections (the client can do something about it), 503 when the server is full or stopping;
 * with Retry-After and the gateway's JSON error body, the code as its `error`.
 */
function httpRefusal(code: ErrorCode, reason: string): string {
  const status = code === ErrorCode.TOO_MANY_CONNECTIONS ? 429 : 503;
  return closingJsonAnswer(status, code, reason, { 'Retry-After': String(REFUSED_RETRY_AFTER_S) });
}

async function waitOrKill(children: Child[], deadline: number): Promise<void> {
  const timeout = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now())).unref());
  await Promise.race([Promise.all(children.map((c) => c.exited)), timeout]);
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
}
