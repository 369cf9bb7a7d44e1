import type { ClientMessageType } from './messages';

/**
 * Core and extended connections (docs/PROTOCOL.md, "Core and extended clients").
 *
 * Third-party seed-004 clients exit or stop reading when they receive a `type` they do not
 * know. So a connection is *core* until it declares itself extended, like IRCv3 capability
 * negotiation (`CAP REQ`): by a `hello`, or by sending any type that is not a seed-004 request.
 * A core connection receives only the seed-004 server types; every other line meant for it is
 * left out (its refusals are answered the seed way or not at all, its closes carry no line).
 */

/** The requests of seed 004. Anything else a client sends makes its connection extended. */
const CORE_CLIENT_TYPES: ReadonlySet<string> = new Set<ClientMessageType>(['identitychange', 'join', 'who', 'list', 'createroom', 'delete', 'message', 'quit']);

/** The server messages of seed 004: all a core connection ever receives. */
const CORE_SERVER_TYPES: ReadonlySet<string> = new Set(['newidentity', 'roomchange', 'roomcontents', 'roomlist', 'message']);

/**
 * The capabilities this server grants, listed in its `hello` reply. `extended`: every message
 * type of docs/PROTOCOL.md (errors, accounts, DMs, history, moderation, notices, ...). Names a
 * client lists that are not here are ignored, so clients may list capabilities of later versions.
 */
export const SERVER_CAPABILITIES: readonly string[] = ['extended'];

/** The server's answer to `hello`: the connection is extended from here on. */
export const HELLO_REPLY_LINE = JSON.stringify({ type: 'hello', capabilities: SERVER_CAPABILITIES }) + '\n';

/** The rate limits a connection is told in the `hello` reply (`--rate-limit`, `--rate-burst`, `--account-rate-limit`). */
export interface AdvertisedLimits {
  /** Lines a second per connection, sustained. */
  rate: number;
  /** Lines at once per connection. */
  burst: number;
  /** Room messages and DMs a second per account. */
  accountRate: number;
}

/** The HTTP listener a connection is told of in the `hello` reply: where `/files` and the web app are. */
export interface AdvertisedHttp {
  /** The bound port (never 0). */
  port: number;
  /** HTTPS rather than plain HTTP. */
  tls: boolean;
}

/**
 * The HTTP listener to advertise, from the ports of the HTTP and HTTPS listeners (null: off; 0:
 * not bound yet, so not known): HTTPS when both are on (a client's token is not sent in clear),
 * null when neither is known.
 */
export function advertisedHttp(ports: { httpPort: number | null; httpsPort: number | null }): AdvertisedHttp | null {
  if (ports.httpsPort !== null && ports.httpsPort > 0) return { port: ports.httpsPort, tls: true };
  if (ports.httpPort !== null && ports.httpPort > 0) return { port: ports.httpPort, tls: false };
  return null;
}

/**
 * The `hello` reply with the server's rate limits (`limits`), so that a client can pace what it
 * sends (a piped script) instead of learning them from `RATE_LIMITED` refusals, and its HTTP
 * listener (`http`, left out when there is none), so that a client uploads to the right port.
 * Extended only: `hello` is itself an extended message.
 */
export function helloReplyLine(limits: AdvertisedLimits, http: AdvertisedHttp | null = null): string {
  return JSON.stringify({ type: 'hello', capabilities: SERVER_CAPABILITIES, limits, ...(http ? { http } : {}) }) + '\n';
}

/** True for a seed-004 request type (sending one keeps a connection core). */
export function isCoreClientType(type: string): boolean {
  return CORE_CLIENT_TYPES.has(type);
}

const TYPE_PREFIX = Buffer.from('{"type":"');
const QUOTE = 0x22;
const NEWLINE = 0x0a;
const NOTHING = Buffer.alloc(0);

/**
 * The lines of `lines` (one or more server lines, each ended by `\n`) that a core connection may
 * receive: `lines` itself when all are core, an empty buffer when none is. The server writes
 * `type` first (JSON.stringify of the message objects), so the type is read from the line's
 * first bytes; a line written otherwise is parsed.
 */
export function coreServerLines(lines: Buffer): Buffer {
  let kept: Buffer[] | null = null;
  let start = 0;
  while (start < lines.length) {
    const nl = lines.indexOf(NEWLINE, start);
    const end = nl === -1 ? lines.length : nl + 1;
    const core = CORE_SERVER_TYPES.has(typeOfLine(lines, start, end));
    if (!core && kept === null) kept = start === 0 ? [] : [lines.subarray(0, start)];
    else if (core && kept !== null) kept.push(lines.subarray(start, end));
    start = end;
  }
  if (kept === null) return lines;
  return kept.length === 0 ? NOTHING : Buffer.concat(kept);
}

function typeOfLine(lines: Buffer, start: number, end: number): string {
  if (end - start > TYPE_PREFIX.length && lines.compare(TYPE_PREFIX, 0, TYPE_PREFIX.length, start, start + TYPE_PREFIX.length) === 0) {
    const from = start + TYPE_PREFIX.length;
    const quote = lines.indexOf(QUOTE, from);
    if (quote !== -1 && quote < end) return lines.toString('latin1', from, quote);
  }
  try {
    const type = (JSON.parse(lines.toString('utf8', start, end)) as { type?: unknown }).type;
    return typeof type === 'string' ? type : '';
  } catch {
    return '';
  }
}
