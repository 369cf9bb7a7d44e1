import type { Protocol } from '../generator/messages';

export type ServerKind = 'switchboard' | 'socketio';

export const SERVER_LABEL: Record<ServerKind, string> = {
  switchboard: 'Switchboard',
  socketio: 'Socket.IO baseline',
};

/** A server under test: where to connect, what it speaks, and (if the bench owns it) its processes. */
export interface Target {
  kind: ServerKind;
  protocol: Protocol;
  host: string;
  port: number;
  /** Root of the server's process tree, when known (started by the bench, or --server-pid). */
  rootPid?: number;
  /** A role for each process of the tree: supervisor/hub/worker, primary/worker. */
  roleOf(pid: number, isRoot: boolean): string;
  /** Stops the server if the bench started it; a no-op for --target. */
  stop(): Promise<void>;
  /** Last output lines, for reporting a failure. */
  tail(): string[];
  /** Non-null once a server the bench started has exited. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | null;
}

export interface TargetOptions {
  workers: number;
  placement: 'pool' | 'dedicated';
  /** Connections the run will hold at most (the server's admission limit is set above it). */
  clients: number;
  /** The generator's Socket.IO client: socket.io-client, or the lean wire-level one. */
  sioClient: SioClient;
  /** Extra Node flags for the server's processes (children inherit them), e.g. --cpu-prof. */
  nodeArgs: string[];
  /** Extra `switchboard serve` flags (--server-args), e.g. --spares 8; ignored by the baseline. */
  serverArgs: string[];
}

export type SioClient = 'socket.io-client' | 'lean';
