import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import path from 'node:path';
import { CHILD_CONFIG_ENV } from '../config/from-parent';
import type { Config } from '../config/schema';
import { isChildMessage, type ChildToSupervisor, type SupervisorToChild } from '../ipc/supervisor-messages';
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
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly role: ChildRole,
    readonly id: number,
    config: Config,
    extraEnv: Record<string, string>,
    onMessage: (child: Child, msg: ChildToSupervisor) => void,
  ) {
    this.process = fork(entryPoints[role], [], {
      execArgv: [...CHILD_NODE_FLAGS, ...process.execArgv],
      env: { ...process.env, [CHILD_CONFIG_ENV]: JSON.stringify(config), ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    this.process.on('message', (msg) => {
      if (isChildMessage(msg)) onMessage(this, msg);
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
   * Passes a client socket's file descriptor to the child (SCM_RIGHTS on the IPC socketpair);
   * Node closes the supervisor's copy once it is sent. `kind`: the listener it came in on (tls
   * and https: the child must handshake first; http and https: it speaks HTTP).
   * `connId`: the supervisor's id of a connection counted per address, echoed in 'session-closed'.
   */
  handOff(socket: net.Socket, kind: ListenerKind, connId: number | undefined, done: (err: Error | null) => void): void {
    if (!this.alive || !this.process.connected) return done(new Error('child is gone'));
    const msg: Extract<SupervisorToChild, { type: 'conn' }> = kind === 'tls' || kind === 'https' ? { type: 'conn', tls: true } : { type: 'conn' };
    if (kind === 'http' || kind === 'https') msg.http = true;
    if (connId !== undefined) msg.connId = connId;
    this.process.send(msg, socket, { keepOpen: false }, (err) => done(err ?? null));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.process.kill(signal);
  }
}
