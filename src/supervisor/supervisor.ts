import type net from 'node:net';
import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { ChildToSupervisor } from '../ipc/supervisor-messages';
import { readTlsFiles, type TlsCertInfo, type TlsMaterial } from '../net/tls';
import { ErrorCode } from '../protocol/errors';
import { AddressLimit } from './address-limit';
import { Backoff } from './backoff';
import { Child } from './child';
import { claimDataDir } from './data-dir';
import { DedicatedPlacement } from './dedicated-placement';
import { closeListeners, listenerKind, openListeners, type ListenAddresses } from './listeners';
import type { Placement, PlacementHost } from './placement';
import { PoolPlacement } from './pool-placement';

/**
 * The primary process: accepts, admits and places clients, runs the hub and the workers,
 * restarts what crashes, and stops everything in order.
 */
export class Supervisor implements PlacementHost {
  stopping = false;
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
  /** Clients placed again after a failed hand-off: once each. */
  private readonly replaced = new WeakSet<net.Socket>();
  private refusedSinceWarn = 0;
  private lastRefusalWarn = 0;
  /** The certificate pair workers handshake with (read at start, replaced on SIGHUP); null: no TLS. */
  private tls: TlsMaterial | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
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
    const { servers, addresses } = await openListeners(this.config, (socket) => this.admit(socket));
    this.servers = servers;
    return addresses;
  }

  spawnWorker(): Child {
    const child = new Child('worker', this.nextWorkerId++, this.config, { SB_WORKER_ID: String(this.nextWorkerId - 1) }, (c, m) => this.onChildMessage(c, m));
    this.log.debug({ workerId: child.id, childPid: child.pid }, 'worker started');
    // Ahead of any client on the same channel, so the worker has it before its first handshake.
    if (this.tls) child.send({ type: 'reload-tls', ...this.tls });
    void child.exited.then(({ code, signal }) => {
      const lost = child.sessions;
      this.clients -= lost;
      child.sessions = 0;
      this.perAddress.releaseWorker(child);
      const clean = code === 0 && signal === null;
      if (!this.stopping && !(clean && this.config.placement === 'dedicated')) {
        this.log.error({ workerId: child.id, childPid: child.pid, code, signal, clientsLost: lost }, 'worker died');
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
    worker.handOff(socket, listenerKind(socket), connId, (err) => {
      if (!err) return;
      worker.sessions--;
      this.clients--;
      if (connId !== undefined) this.perAddress.release(connId);
      // The worker died between placement and hand-off (its exit not yet seen): the client has
      // lost nothing yet, so it is placed again, once; a second failure closes it.
      if (!this.stopping && !this.replaced.has(socket) && !socket.destroyed) {
        this.replaced.add(socket);
        this.log.warn({ err, workerId: worker.id }, 'hand-off failed; placing the client again');
        this.admit(socket);
        return;
      }
      this.log.warn({ err, workerId: worker.id }, 'hand-off failed; closing the client');
      socket.destroy();
    });
  }

  /**
   * SIGHUP: reads the certificate files again and, if they are good, gives the pair to every
   * worker for its new connections; open sessions keep theirs. A bad pair is logged and the
   * one in use stays.
   */
  reloadTls(): void {
    if (this.stopping) return;
    if (!this.usesTls) {
      this.log.info('SIGHUP received: TLS is off, nothing to reload');
      return;
    }
    let loaded;
    try {
      loaded = readTlsFiles(this.config.tlsCert!, this.config.tlsKey!);
    } catch (err) {
      this.log.error({ err, tlsCert: this.config.tlsCert, tlsKey: this.config.tlsKey }, 'TLS reload failed; still serving the previous certificate');
      return;
    }
    this.tls = loaded.material;
    const workers = this.placement.workers();
    for (const w of workers) w.send({ type: 'reload-tls', ...loaded.material });
    this.logCertificate(loaded.info, 'TLS certificate reloaded; new connections use it', { workers: workers.length });
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

  /** SIGTERM/SIGINT: stop accepting, let workers say goodbye, then the hub; kill what lingers. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    this.log.info({ clients: this.clients }, 'shutting down');
    closeListeners(this.servers, this.config);
    for (const socket of this.placement.takeWaiting()) this.refuse(socket, ErrorCode.SHUTTING_DOWN, 'server is shutting down');
    const workers = this.placement.workers();
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
    if (this.clients >= this.config.maxClients || !this.placement.place(socket)) {
      const connId = this.connIds.get(socket);
      if (connId !== undefined) this.perAddress.release(connId);
      this.log.warn({ clients: this.clients, remote: socket.remoteAddress }, 'refused a client: too many users');
      this.refuse(socket, ErrorCode.TOO_MANY_USERS, 'too many users; try again later');
    }
  }

  /**
   * Refuses a client the supervisor will not place: the connection is closed, without a line.
   * The client has said nothing yet, so it is a core client (src/protocol/capabilities.ts),
   * which must receive no `error` line; TLS clients are not even handshaken, so a refusal costs
   * the supervisor no crypto under a connect flood. The reason is logged by the caller or here.
   */
  private refuse(socket: net.Socket, code: ErrorCode, reason: string): void {
    this.log.debug({ code, reason, remote: socket.remoteAddress }, 'refused a connection');
    // Bytes it sent meanwhile (a hello) are discarded unread, so the close is a clean FIN, not a reset.
    socket.resume();
    socket.end();
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
      setTimeout(() => {
        if (!this.stopping) this.startHub();
      }, delay);
    });
  }

  private onChildMessage(child: Child, msg: ChildToSupervisor): void {
    if (msg.type === 'ready') {
      child.ready = true;
      if (child.role === 'hub') {
        this.log.info({ childPid: child.pid }, 'hub ready');
        this.hubReady?.();
        this.hubReady = null;
      } else {
        this.placement.onReady(child);
      }
    } else if (msg.type === 'stopping') {
      // Not ready any more: placement passes it over while it says goodbye to its clients.
      child.ready = false;
      this.log.warn({ workerId: child.id, childPid: child.pid }, 'worker stopping by itself; no new clients for it');
    } else if (msg.type === 'session-closed') {
      if (typeof msg.connId === 'number') this.perAddress.release(msg.connId);
      if (child.sessions > 0) {
        child.sessions--;
        this.clients--;
      }
    }
  }
}

async function waitOrKill(children: Child[], deadline: number): Promise<void> {
  const timeout = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now())).unref());
  await Promise.race([Promise.all(children.map((c) => c.exited)), timeout]);
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
}
