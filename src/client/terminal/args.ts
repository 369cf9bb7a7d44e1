/**
 * Command-line arguments of `switchboard connect`.
 */
import { NOTIFY_MODES, type NotifyMode } from './notify';

/** How to check the server over TLS (`--tls`). */
export interface TlsTarget {
  /** PEM file of the certificate(s) to trust instead of the default roots (`--ca`), or null. */
  readonly caFile: string | null;
  /** Skip verification (`--insecure`): encrypted, but the server is not authenticated. */
  readonly insecure: boolean;
}

/** Where to connect; a TCP target with `tls` is reached over TLS. */
export type Target = { kind: 'tcp'; host: string; port: number; tls?: TlsTarget } | { kind: 'unix'; path: string };

export interface ConnectOptions {
  /**
   * The servers, in the order given (one, or several nodes of a cluster: `H1:P1,H2:P2,...`).
   * Never empty; a Unix socket is always alone.
   */
  readonly targets: readonly Target[];
  /**
   * How the servers are named to the user, e.g. `127.0.0.1:4444`, the socket path, or the
   * list as given (`h1:4444,h2:4444`): also the key of the saved login, one for the cluster.
   */
  readonly label: string;
  /** File the session is appended to, or null. */
  readonly logFile: string | null;
  /** Where saved logins are kept (`--config-dir`), or null for the default directory. */
  readonly configDir: string | null;
  /** Log in with the saved token after the welcome (off with `--no-auto-login`). */
  readonly autoLogin: boolean;
  /** Reconnect when the connection drops (off with `--no-reconnect`). */
  readonly reconnect: boolean;
  /** The server's HTTP address for `/send` and `/get` (`--http URL`), or null: the one the server advertises in its `hello` reply, on the host connected to. */
  readonly http?: string | null;
  /** Reconnection attempts in a row before giving up (`--retries`; 0: never give up), or null for the default. */
  readonly retries: number | null;
  /** The longest wait between reconnection attempts, in ms (`--retry-max-ms`), or null for the default. */
  readonly retryMaxMs: number | null;
  /** `HH:MM` before every line (`--timestamps` / `--no-timestamps`), or null: when interactive. */
  readonly timestamps: boolean | null;
  /** Colours off (`--no-color`; also `NO_COLOR`, or an output that is not a terminal). */
  readonly noColour: boolean;
  /** How a DM or a mention is signalled (`--notify`), or null: `bell` when interactive. */
  readonly notify: NotifyMode | null;
}

export type ParsedArgs =
  | { kind: 'run'; options: ConnectOptions }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

export const DEFAULT_PORT = 4444;

export const USAGE = [
  'usage: switchboard connect HOST[:PORT][,HOST[:PORT]...] [options]',
  '       switchboard connect --unix PATH [options]',
  '',
  `Connects to a Switchboard chat server (default port ${DEFAULT_PORT}). Type /help once connected.`,
  'With several servers (the nodes of a cluster), it connects to the first that answers and,',
  'when the connection drops, reconnects to the next in turn, resuming the room it was in.',
  '  --unix PATH        connect to the server\'s Unix socket instead of TCP',
  '  --tls              use TLS (the server\'s --tls-port); the certificate is checked against',
  '                     Node\'s trusted roots (plus any in NODE_EXTRA_CA_CERTS)',
  '  --ca FILE          with --tls: trust the certificate(s) in this PEM file instead',
  '                     (e.g. the cert.pem of `switchboard cert`)',
  '  --insecure         with --tls: do not verify the server at all (testing only; warns)',
  '  --log FILE         append the session (what is shown and what you type) to FILE, with timestamps',
  '  --config-dir DIR   where logins are saved (default $XDG_CONFIG_HOME/switchboard,',
  '                     else ~/.config/switchboard)',
  '  --no-auto-login    do not log in with the login saved for this server',
  '  --no-reconnect     end (exit code 2) when the connection drops, instead of reconnecting',
  '  --http URL         the server\'s HTTP address, for /send and /get (default: the HTTP port the server names, on HOST)',
  '  --retries N        give up after N reconnection attempts in a row (default 20; 0: never)',
  '  --retry-max-ms MS  the longest wait between reconnection attempts (default 5000)',
  '  --timestamps       HH:MM before every line, even when piped (default: on a terminal only)',
  '  --no-timestamps    no times before the lines',
  '  --no-color         no colours (also with NO_COLOR set, or when the output is not a terminal)',
  '  --notify MODE      on a direct message or your name said: bell (default on a terminal),',
  '                     desktop (notify-send, else the bell) or none',
  '',
  'Exit codes: 0 after /quit (or the end of piped input); 1 the session could not start',
  '(arguments, log file, server unreachable, TLS); 2 the server closed the connection and it was',
  'not reopened; 3 piped input ended normally but some command was refused or not understood.',
].join('\n');

/** Parses `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`. */
export function parseHostPort(text: string): { host: string; port: number } | string {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (text.indexOf(':') !== text.lastIndexOf(':')) {
    host = text; // a bare IPv6 address: no port can be told apart
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
  }
  if (host === '') return `missing host in "${text}"`;
  if (portText === undefined) return { host, port: DEFAULT_PORT };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `invalid port "${portText}"`;
  return { host, port };
}

/**
 * Parses `HOST[:PORT]` or a comma-separated list of them (the nodes of a cluster); an error
 * message names the first bad entry.
 */
export function parseServerList(text: string): Array<{ host: string; port: number }> | string {
  const servers: Array<{ host: string; port: number }> = [];
  for (const entry of text.split(',')) {
    if (entry === '') return `empty server in "${text}"`;
    const hostPort = parseHostPort(entry);
    if (typeof hostPort === 'string') return hostPort;
    servers.push(hostPort);
  }
  return servers;
}

/** How one server is named to the user: `host:port`, `[v6]:port` or the socket path. */
export function labelOf(target: Target): string {
  if (target.kind === 'unix') return target.path;
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/**
 * Parses the arguments that follow `connect`.
 *
 * @example
 * parseConnectArgs(['127.0.0.1', '--log', 'chat.log'])
 * // → { kind: 'run', options: { targets: [{ kind: 'tcp', host: '127.0.0.1', port: 4444 }], ... } }
 * parseConnectArgs(['10.0.0.1:4444,10.0.0.2:4444'])
 * // → two targets, label '10.0.0.1:4444,10.0.0.2:4444'
 */
export function parseConnectArgs(argv: readonly string[]): ParsedArgs {
  let logFile: string | null = null;
  let unixPath: string | null = null;
  let configDir: string | null = null;
  let autoLogin = true;
  let reconnect = true;
  let tls = false;
  let caFile: string | null = null;
  let insecure = false;
  let httpUrl: string | null = null;
  let retries: number | null = null;
  let retryMaxMs: number | null = null;
  let timestamps: boolean | null = null;
  let noColour = false;
  let notify: NotifyMode | null = null;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name === '--help' || name === '-h') return { kind: 'help' };
    if (name === '--http') {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || !/^https?:\/\/\S+$/.test(value)) return { kind: 'error', message: '--http needs an http:// or https:// URL' };
      httpUrl = value;
    } else if (name === '--log' || name === '--unix' || name === '--config-dir' || name === '--ca' || name === '--retries' || name === '--retry-max-ms' || name === '--notify') {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') return { kind: 'error', message: `${name} needs a value` };
      if (name === '--retries' || name === '--retry-max-ms') {
        const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
        if (Number.isNaN(n) || (name === '--retry-max-ms' && n < 1)) {
          return { kind: 'error', message: `${name} takes a whole number${name === '--retries' ? ' (0: never give up)' : ' of milliseconds, at least 1'}, not "${value}"` };
        }
        if (name === '--retries') retries = n;
        else retryMaxMs = n;
        continue;
      }
      if (name === '--notify') {
        if (!(NOTIFY_MODES as readonly string[]).includes(value)) return { kind: 'error', message: `--notify takes ${NOTIFY_MODES.join(', ')}, not "${value}"` };
        notify = value as NotifyMode;
        continue;
      }
      if (name === '--log') logFile = value;
      else if (name === '--unix') unixPath = value;
      else if (name === '--ca') caFile = value;
      else configDir = value;
    } else if (['--no-auto-login', '--no-reconnect', '--tls', '--insecure', '--timestamps', '--no-timestamps', '--no-color'].includes(name)) {
      if (eq !== -1) return { kind: 'error', message: `${name} takes no value` };
      if (name === '--no-auto-login') autoLogin = false;
      else if (name === '--timestamps') timestamps = true;
      else if (name === '--no-timestamps') timestamps = false;
      else if (name === '--no-color') noColour = true;
      else if (name === '--tls') tls = true;
      else if (name === '--insecure') insecure = true;
      else reconnect = false;
    } else if (arg.startsWith('-') && arg !== '-') {
      return { kind: 'error', message: `unknown option ${name}` };
    } else {
      positional.push(arg);
    }
  }
  if (positional.length > 1) return { kind: 'error', message: `unexpected argument "${positional[1]}"` };
  if (!tls && (caFile !== null || insecure)) return { kind: 'error', message: '--ca and --insecure go with --tls' };
  if (caFile !== null && insecure) return { kind: 'error', message: 'give either --ca FILE or --insecure, not both' };
  if (tls && unixPath !== null) return { kind: 'error', message: '--tls is for HOST:PORT, not --unix' };
  let targets: Target[];
  if (unixPath !== null) {
    if (positional.length > 0) return { kind: 'error', message: 'give either HOST:PORT or --unix PATH, not both' };
    targets = [{ kind: 'unix', path: unixPath }];
  } else {
    if (positional.length === 0) return { kind: 'error', message: 'missing HOST:PORT or --unix PATH' };
    const servers = parseServerList(positional[0]!);
    if (typeof servers === 'string') return { kind: 'error', message: servers };
    targets = servers.map((hostPort): Target => (tls ? { kind: 'tcp', ...hostPort, tls: { caFile, insecure } } : { kind: 'tcp', ...hostPort }));
  }
  const label = targets.map(labelOf).join(',');
  return { kind: 'run', options: { targets, label, logFile, configDir, autoLogin, reconnect, retries, retryMaxMs, timestamps, noColour, notify, ...(httpUrl === null ? {} : { http: httpUrl }) } };
}
