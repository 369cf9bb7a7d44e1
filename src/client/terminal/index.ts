/**
 * `switchboard connect`: the terminal chat client.
 *
 * @example
 * // switchboard connect 127.0.0.1:4444 --log chat.log
 * process.exitCode = await runConnect(['127.0.0.1:4444', '--log', 'chat.log']);
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { labelOf, parseConnectArgs, USAGE } from './args';
import { connectSocket, describeTlsFailure, speaksTls } from './connection';
import { colourWanted } from './decorate';
import { ServerRing } from './failover';
import { noSessionLog, openSessionLog, type SessionLog } from './session-log';
import { runSession } from './session';
import { ExitCode, type SessionTimings } from './session-options';
import { defaultConfigDir, fileTokenStore } from './token-store';
import type { InputStream, OutputStream } from './ui';

export { ExitCode } from './session-options';

/** The streams the client talks to the user through; `process`'s by default. */
export interface TerminalIo {
  stdin: InputStream;
  stdout: OutputStream;
  stderr: NodeJS.WritableStream;
}

export interface RunConnectOptions {
  io?: TerminalIo;
  /** Overrides of the session time limits (tests). */
  timings?: Partial<SessionTimings>;
  connectTimeoutMs?: number;
  /** Longest server line kept (default 1 MiB); longer ones are dropped with a notice. */
  maxLineBytes?: number;
  /** The environment the default config directory is found from; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Runs `switchboard connect`; `argv` are the arguments after `connect`. Resolves with the
 * process exit code (ExitCode): 0 after a quit, 1 if the session could not start (bad arguments,
 * log file, server unreachable, its TLS certificate not trusted, a plain client on a TLS port),
 * 2 if the server closed the connection unasked and it was not reopened (`--no-reconnect`, a
 * reason that rules it out, or `--retries` attempts failed), 3 if piped input ended normally but
 * a command was refused or not understood.
 *
 * It is interactive (prompt, line editing) when stdin and stdout are terminals; otherwise it
 * reads commands line by line and sends `quit` at the end of input.
 *
 * A login is saved for the server in the config directory, and used again on the next run;
 * a dropped connection is reopened with backoff, the login, room and missed messages restored.
 * Given several servers (`H1:P1,H2:P2,...`, the nodes of a cluster), it starts on the first
 * that answers and reopens a dropped connection on the next in turn (ServerRing).
 */
export async function runConnect(argv: string[], options: RunConnectOptions = {}): Promise<number> {
  const io: TerminalIo = options.io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const parsed = parseConnectArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout.write(USAGE + '\n');
    return ExitCode.ok;
  }
  if (parsed.kind === 'error') {
    io.stderr.write(`switchboard connect: ${parsed.message}\n${USAGE}\n`);
    return ExitCode.startFailed;
  }
  const { targets, label, logFile, configDir, autoLogin, reconnect, retries, retryMaxMs, timestamps, noColour, notify } = parsed.options;
  const env = options.env ?? process.env;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const tokens = fileTokenStore(configDir ?? defaultConfigDir(env, os.homedir()), label);
  // Every server of a list is reached alike (all over TLS with the same trust, or none).
  const first = targets[0]!;
  const secure = first.kind === 'tcp' ? first.tls : undefined;
  let caPem: string | null = null;
  if (secure?.caFile) {
    try {
      caPem = fs.readFileSync(secure.caFile, 'utf8');
    } catch (err) {
      io.stderr.write(`cannot read CA file ${secure.caFile}: ${(err as Error).message}\n`);
      return ExitCode.startFailed;
    }
  }
  if (secure?.insecure) {
    io.stderr.write(`warning: --insecure: the certificate of ${label} is not verified; anyone on the way can pose as the server and read the session\n`);
  }

  let log: SessionLog = noSessionLog;
  if (logFile !== null) {
    try {
      log = openSessionLog(logFile, (err) => io.stderr.write(`log file ${logFile}: ${err.message} (logging stopped)\n`));
    } catch (err) {
      io.stderr.write(`cannot open log file ${logFile}: ${(err as Error).message}\n`);
      return ExitCode.startFailed;
    }
  }

  const ring = new ServerRing(targets.length, (i) => connectSocket(targets[i]!, connectTimeoutMs, caPem));
  try {
    let socket;
    try {
      socket = await ring.first();
    } catch (err) {
      // One line per server, in order: the reason each could not be reached.
      (err as AggregateError).errors.forEach((e: NodeJS.ErrnoException, i: number) => {
        const tlsProblem = secure ? describeTlsFailure(e) : null;
        const line = `cannot connect to ${labelOf(targets[i]!)}: ${tlsProblem ?? `${e.code ?? 'error'} (${e.message})`}`;
        io.stderr.write(line + '\n');
        log.failed(line);
      });
      return ExitCode.startFailed;
    }
    const interactive = io.stdin.isTTY === true && io.stdout.isTTY === true;
    const timings: Partial<SessionTimings> = { ...options.timings };
    if (retries !== null) timings.reconnectAttempts = retries;
    if (retryMaxMs !== null) timings.reconnectMax = retryMaxMs;
    return await runSession({
      socket,
      streams: { input: io.stdin, output: io.stdout, errorOutput: io.stderr },
      interactive,
      timestamps: timestamps ?? interactive,
      colour: !noColour && colourWanted(env, io.stdout.isTTY === true),
      notify: notify ?? (interactive ? 'bell' : 'none'),
      label,
      serverLabel: targets.length > 1 ? () => labelOf(targets[ring.index]!) : undefined,
      log,
      timings,
      maxLineBytes: options.maxLineBytes,
      reconnect: reconnect ? () => ring.next() : null,
      probeTls:
        first.kind === 'tcp' && !first.tls
          ? () => {
              const target = targets[ring.index]!;
              return target.kind === 'tcp' ? speaksTls(target.host, target.port, Math.min(connectTimeoutMs, 3000)) : Promise.resolve(false);
            }
          : undefined,
      tokens,
      autoLogin,
      ...(parsed.options.http ? { httpBase: parsed.options.http } : {}),
      httpHost: () => hostOf(targets[ring.index]!),
      ...(secure ? { httpsTrust: { ...(caPem !== null ? { ca: caPem } : {}), rejectUnauthorized: !secure.insecure } } : {}),
    });
  } finally {
    log.close();
  }
}

/** The host a server's advertised HTTP port is on: the one connected to (a Unix socket: this machine). */
function hostOf(target: { kind: 'tcp'; host: string } | { kind: 'unix' }): string {
  return target.kind === 'tcp' ? target.host : '127.0.0.1';
}
