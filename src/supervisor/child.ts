import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import path from 'node:path';
import { CHILD_CONFIG_ENV } from '../config/from-parent';
import type { Config } from '../config/schema';
import { isChildMessage, type ChildToSupervisor, type SupervisorToChild } from '../ipc/supervisor-messages';
import { HandOffs, type UntakenReason } from './hand-offs';
import type { ListenerKind } from './listeners';

export type ChildRole = 'hub' | 'worker';

const entryPoints: Record<ChildRole, string> = {
  hub: path.join(__dirname, '..', 'hub', 'main.js'),
  worker: path.join(__dirname, '..', 'worker', 'main.js'),
};

/**
 * V8 grows the young generation up to 16 MB semi-spaces under bursts of allocation (a connect
 * storm, a history page) and the RSS it took rarely goes back: at 20,000 idle connections that
 * was about half of every worker's memory. 1 MB semi-spaces cost a few more scavenges, which are
 * cheap here because almost everything per message dies young. Placed before the inherited
 * flags, so a `--max-semi-space-size` given to node by the operator wins.
 */
const CHILD_NODE_FLAGS = ['--max-semi-space-size=1'];

/**
 * One child process as the supervisor sees it: its role, readiness, the clients handed to
 * it, and a promise of its exit. Its stdout and stderr are the supervisor's (pino lines).
 */
export class Child {
  readonly process: ChildProcess;
  readonly startedAt = Date.now();
  ready = false;
  /** Clients handed to this child and not yet reported closed. */
  sessions = 0;
  /** Replaced by an upgrade: its clients are handed to a new worker and it exits (not a crash). */
  upgradedAway = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * As `exited`, and the IPC channel read to its end (Node's 'close'): every message the child
   * sent before it died has been handled, so a hand-off it never confirmed was never taken.
   */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Client sockets sent to this child and not yet confirmed taken, by hand-off number (see handOff). */
  private readonly inFlight = new HandOffs();

  constructor(
    readonly role: ChildRole,
    readonly id: number,
    config: Config,
    extraEnv: Record<string, string>,
    /** `handle`: a socket handle passed with the message (an upgrade's 'handed'). */
    onMessage: (child: Child, msg: ChildToSupervisor, handle?: object) => void,
  ) {
    this.process = fork(entryPoints[role], [], {
      execArgv: [...CHILD_NODE_FLAGS, ...process.execArgv],
      env: { ...process.env, [CHILD_CONFIG_ENV]: JSON.stringify(config), ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    this.closed = new Promise((resolve) =>
      this.process.once('close', (code, signal) => {
        // Before the exit is handled: what it did not take is still counted on it.
        this.inFlight.untakenAll('exited');
        resolve({ code, signal });
      }),
    );
    this.process.on('message', (msg, handle) => {
      if (!isChildMessage(msg)) return;
      if (msg.type === 'conn-taken') return this.inFlight.taken(msg.handOff);
      onMessage(this, msg, handle ?? undefined);
    });
    // A send to a child that just died fails with EPIPE; its 'exit' is handled elsewhere.
    this.process.on('error', () => {});
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  send(msg: SupervisorToChild): void {
    if (this.alive && this.process.connected) this.process.send(msg);
  }

  /**
   * Passes a client socket's file descriptor to the child (SCM_RIGHTS on the IPC socketpair).
   * `kind`: the listener it came in on (tls and https: the child must handshake first; http and
   * https: it speaks HTTP). `connId`: the supervisor's id of a connection counted per address,
   * echoed in 'session-closed'.
   *
   * The supervisor keeps its own copy of the descriptor until the child confirms it has the
   * socket ('conn-taken'), and then closes it (the connection stays open in the child). Node's
   * own hand-off (`keepOpen: false`) cannot be relied on when the child dies: a socket sent but
   * not yet read is closed with the channel (the client is dropped unserved), and one queued
   * behind an unacknowledged handle is neither sent, closed nor reported (the client waits for
   * ever; seen as "no welcome" right after workers were killed). `untaken` is called, once and
   * never synchronously, when the child will not serve it: it was gone or the send failed, it
   * exited before confirming, or it confirmed a later hand-off first (this one was lost on the
   * way). The caller may then place the socket again: nothing of it has been read.
   */
  handOff(socket: net.Socket, kind: ListenerKind, connId: number | undefined, untaken: (why: UntakenReason) => void): void {
    if (!this.alive || !this.process.connected) {
      process.nextTick(untaken, 'gone');
      return;
    }
    const handOff = this.inFlight.add(socket, untaken);
    const msg: Extract<SupervisorToChild, { type: 'conn' }> = kind === 'tls' || kind === 'https' ? { type: 'conn', tls: true, handOff } : { type: 'conn', handOff };
    if (kind === 'http' || kind === 'https') msg.http = true;
    if (connId !== undefined) msg.connId = connId;
    this.process.send(msg, socket, { keepOpen: true }, (err) => {
      if (err) this.inFlight.untaken(handOff, 'gone');
    });
  }

  /**
   * Passes a message with a raw socket handle (an upgrade's `adopt`); the supervisor's copy of
   * the descriptor is closed once sent. `handle` null: the message alone.
   */
  sendWithHandle(msg: SupervisorToChild, handle: object | null, done: (err: Error | null) => void): void {
    if (!this.alive || !this.process.connected) return done(new Error('child is gone'));
    if (!handle) {
      this.process.send(msg, (err) => done(err ?? null));
      return;
    }
    this.process.send(msg, handle as net.Socket, {}, (err) => done(err ?? null));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.process.kill(signal);
  }
}
