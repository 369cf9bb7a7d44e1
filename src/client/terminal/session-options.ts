/**
 * What a session is given: its socket and streams, how it may reconnect and log in, its time
 * limits; and the exit codes it ends with.
 */
import type { Socket } from 'node:net';
import type { SessionLog } from './session-log';
import type { TokenStore } from './token-store';
import type { NotifyMode } from './notify';
import type { UiStreams } from './ui';
import type { HttpsTrust } from './transfer';

/** Exit codes of `switchboard connect`. */
export const ExitCode = {
  /** The session ended after our `quit`. */
  ok: 0,
  /** Bad arguments, log file or connection failure: the session never started. */
  startFailed: 1,
  /** The server closed the connection without our asking (and it was not, or could not be, reopened). */
  disconnected: 2,
  /**
   * Line mode: the session ended after our `quit` (or the end of input), but at least one
   * command was refused by the server or not understood (an unknown command, a usage error).
   */
  refused: 3,
} as const;

/** Time limits of a session, in milliseconds (shortened by tests). */
export interface SessionTimings {
  /** After the welcome `newidentity`, how long to wait for the rest of the welcome. */
  welcomeSettle: number;
  /** How long to wait for any welcome before sending typed lines anyway. */
  welcomeTimeout: number;
  /** Line mode: how long to wait for the answer to one command before sending the next. */
  replyTimeout: number;
  /** After `quit`, how long to wait for the server to close before closing ourselves. */
  quitTimeout: number;
  /** The first delay before reconnecting; it doubles at each failed attempt... */
  reconnectInitial: number;
  /** ...up to this (`--retry-max-ms`). */
  reconnectMax: number;
  /** Reconnection attempts in a row before giving up (`--retries`); 0: never give up. */
  reconnectAttempts: number;
  /** How long a refusal waits for the error that may explain it (INVITE_ONLY after a refused join). */
  refusalSettle: number;
}

export const defaultTimings: SessionTimings = {
  welcomeSettle: 500,
  welcomeTimeout: 10_000,
  replyTimeout: 2_000,
  quitTimeout: 2_000,
  reconnectInitial: 250,
  reconnectMax: 5_000,
  reconnectAttempts: 20,
  refusalSettle: 300,
};

export interface SessionOptions {
  socket: Socket;
  streams: UiStreams;
  /** Interactive (prompt, readline) rather than line mode. */
  interactive: boolean;
  /** How the server (or the list of servers) is named to the user. */
  label: string;
  /**
   * With several servers: the one the open connection is to, named in `Connected to ...`
   * and `Reconnected to ...`; absent: `label`.
   */
  serverLabel?: () => string;
  log: SessionLog;
  timings?: Partial<SessionTimings>;
  maxLineBytes?: number;
  /**
   * Opens a new connection (to the same server, or with several to the next: ServerRing);
   * null or absent: a dropped connection ends the session.
   */
  reconnect?: (() => Promise<Socket>) | null;
  /** The login saved for this server. */
  tokens?: TokenStore;
  /** Log in with the saved login after the first welcome. */
  autoLogin?: boolean;
  /**
   * The server's HTTP address for `/send` and `/get` (src/client/terminal/transfer.ts), e.g.
   * `http://127.0.0.1:8080` (`--http URL`); absent: the HTTP listener the server advertises in
   * its `hello` reply, on `httpHost`.
   */
  httpBase?: string;
  /** The host (name or address) of the server the open connection is to (default 127.0.0.1). */
  httpHost?: () => string;
  /** How `/send` and `/get` verify an HTTPS address: the chat connection's `--ca`/`--insecure` (absent: the system's CAs). */
  httpsTrust?: HttpsTrust;
  /**
   * Whether the server answers a TLS handshake (plain TCP targets): asked when a connection
   * closes without a word before any welcome, to tell a TLS port from a full server.
   */
  probeTls?: () => Promise<boolean>;
  /** `HH:MM` before every line and day separators (default: when interactive). */
  timestamps?: boolean;
  /** ANSI colours (default: off). */
  colour?: boolean;
  /** How a DM or a mention of our name is signalled (default: `bell` when interactive, else `none`). */
  notify?: NotifyMode;
}
