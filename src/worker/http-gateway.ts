import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { ConfigSchema, type Config } from '../config/schema';
import { MessageRateGuard } from '../core/rate-limit';
import { closingJsonAnswer } from '../net/http-refusal';
import { countHttpError, HttpError, sendJsonError, type HttpRoute } from './http-routes';
import { WebSocketTransport, webSocketClass } from './websocket-transport';

/** Request headers, all together, at most this many bytes (431 beyond). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** A request's headers must be complete within this (408 beyond): slow-header clients. */
const HEADERS_TIMEOUT_MS = 10_000;
/**
 * A whole request (body included) must be received within this. Long, as file uploads are
 * requests too; a stalled one is caught sooner by SOCKET_IDLE_MS.
 */
const REQUEST_TIMEOUT_MS = 10 * 60_000;
/** An idle keep-alive connection is closed after this. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A connection with no traffic either way for this long is closed (a silent one too). */
const SOCKET_IDLE_MS = 30_000;
/** Requests served on one connection at most; then it is closed (`Connection: close`). */
const MAX_REQUESTS_PER_SOCKET = 1000;
/**
 * ws's own bound on a message: the largest --max-line-bytes the schema allows (1 MiB), not the
 * value in force. See the WebSocketServer in the constructor.
 */
const WS_MAX_PAYLOAD_BYTES = ConfigSchema.properties.maxLineBytes.maximum as number;

/** What the gateway hands back to the worker. */
export interface GatewayEvents {
  /** A WebSocket on /ws is open: it is a protocol session now, and the worker owns `connId`. */
  webSocket(transport: WebSocketTransport, connId: number | undefined): void;
  /** An HTTP connection that did not become a session has closed. */
  closed(connId: number | undefined): void;
}

/** An HTTP connection the gateway serves: the supervisor's id for it and its request rate. */
interface HttpConnection {
  connId: number | undefined;
  rate: MessageRateGuard;
}

/**
 * The worker's HTTP side: a listen-less `http.Server` fed the connections the supervisor
 * accepted on the HTTP(S) listener (TLS already handshaken), `ws` in noServer mode for
 * `GET /ws`, and the route seam (http-routes.ts) for everything else. Every connection is
 * bounded in header size, header and request time, idle time, requests served, and request
 * rate (`--http-rate-limit`, `--http-rate-burst`).
 */
export class HttpGateway {
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  /** Connections not (yet) a WebSocket session. */
  private readonly open = new Map<net.Socket, HttpConnection>();
  /** Requests a second per connection and at once: the settings in force (a reload changes them). */
  private rateLimit: number;
  private rateBurst: number;

  /**
   * @param config the worker's settings object (Worker.settings), read when a value applies:
   *   a reload changes its live settings in place. Of those the gateway uses --max-line-bytes
   *   and --line-timeout-ms (each WebSocket session, open ones too, through its transport) and
   *   the request rate (retuned in each open connection's bucket by `reconfigure`);
   *   --http-origins and the upload limits (--max-file-bytes, --file-quota-bytes) need a
   *   restart (schema.ts), and its HTTP timeouts and header bound are constants, not settings.
   */
  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly routes: HttpRoute[],
    private readonly events: GatewayEvents,
  ) {
    this.rateLimit = config.httpRateLimit;
    this.rateBurst = config.httpRateBurst;
    this.server = http.createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        connectionsCheckingInterval: 1000,
        noDelay: true,
        requireHostHeader: true,
      },
      (req, res) => this.onRequest(req, res),
    );
    this.server.timeout = SOCKET_IDLE_MS;
    this.server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket as net.Socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket as net.Socket));
    // headersTimeout and requestTimeout are checked by a timer Node starts on 'listening';
    // this server never listens (the supervisor does), so it is told it does.
    this.server.emit('listening');
    this.wss = new WebSocketServer({
      noServer: true,
      // ws takes maxPayload once per connection, at its open, and has no public way to change
      // it after: a reload could not reach the sessions already open, not even a raise (only
      // writing ws's private `_receiver._maxPayload` could, which a ws update may silently
      // break). Chosen instead: ws holds the hard maximum as a memory backstop (a frame over it
      // is refused on its header, never buffered; 1009 with the reason webSocketClass adds),
      // and WebSocketTransport refuses a message over the limit in force the same way (1009,
      // same reason) once ws has it. The price: a frame between the two is buffered before it
      // is refused, up to 1 MiB per connection instead of --max-line-bytes: bounded, of the
      // order of the output queue a client may hold anyway (--max-outbound-bytes, 4 MiB by
      // default), and one left unfinished is still closed by --line-timeout-ms.
      maxPayload: WS_MAX_PAYLOAD_BYTES,
      WebSocket: webSocketClass(() => this.config.maxLineBytes),
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** HTTP connections open (not counting those that became WebSocket sessions). */
  get connectionCount(): number {
    return this.open.size;
  }

  /** A connection from the HTTP(S) listener (an https one already handshaken). */
  accept(socket: net.Socket, connId: number | undefined): void {
    this.open.set(socket, { connId, rate: new MessageRateGuard(this.rateLimit, this.rateBurst, Date.now()) });
    socket.on('error', () => {
      /* a reset by the peer; 'close' follows */
    });
    socket.once('close', () => {
      if (this.open.delete(socket)) this.events.closed(connId);
    });
    this.server.emit('connection', socket);
  }

  /** A settings reload: the new request rate applies to the open connections at once. */
  reconfigure(config: Pick<Config, 'httpRateLimit' | 'httpRateBurst'>): void {
    this.rateLimit = config.httpRateLimit;
    this.rateBurst = config.httpRateBurst;
    for (const c of this.open.values()) c.rate.retune(this.rateLimit, this.rateBurst);
  }

  /** Shutdown: closes every HTTP connection now (WebSocket sessions are the worker's). */
  closeAll(): void {
    for (const socket of [...this.open.keys()]) socket.destroy();
    this.server.close();
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.withinRate(req, res)) return;
    const url = parseUrl(req);
    if (url === null) return sendJsonError(res, 400, HttpError.BAD_REQUEST, 'the request target is not a valid path');
    if (url.pathname === '/ws') return sendJsonError(res, 426, HttpError.UPGRADE_REQUIRED, '/ws is a WebSocket endpoint', { Upgrade: 'websocket' });
    const route = this.routes.find((r) => r.handles(url.pathname));
    if (!route) return sendJsonError(res, 404, HttpError.NOT_FOUND, `no such path: ${url.pathname}`);
    try {
      route.handle(req, res, url);
    } catch (err) {
      this.log.error({ err, path: url.pathname }, 'an HTTP route failed');
      sendJsonError(res, 500, HttpError.INTERNAL_ERROR, 'the server could not handle this request');
    }
  }

  /**
   * Counts the request against its connection's rate (a token bucket, as a session's
   * `--rate-limit`: src/core/rate-limit.ts). Over it, the request is answered 429 unserved,
   * before any route or hub question; a connection that goes on far over it (more than burst
   * × 4 refusals in 10 s, the protocol's FLOODING rule) gets its 429 with `Connection: close`.
   * Upgrades are not counted: /ws ends the connection's HTTP either way.
   */
  private withinRate(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const conn = this.open.get(req.socket as net.Socket);
    if (!conn) return true;
    const verdict = conn.rate.check(Date.now());
    if (verdict === 'ok') return true;
    // A token is back within 1/rate seconds; Retry-After counts whole seconds.
    const headers: Record<string, string> = { 'Retry-After': String(Math.max(1, Math.ceil(1 / this.rateLimit))) };
    if (verdict === 'flooding') {
      headers.Connection = 'close';
      this.log.info({ remote: req.socket.remoteAddress, rate: this.rateLimit, burst: this.rateBurst }, 'closed an HTTP connection: far over its request rate');
    }
    sendJsonError(res, 429, HttpError.RATE_LIMITED, `over ${this.rateLimit} requests a second on this connection; request not served`, headers);
    return false;
  }

  private onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const url = parseUrl(req);
    if (url === null || url.pathname !== '/ws') return refuseUpgrade(socket, 404, HttpError.NOT_FOUND, 'WebSocket connections go to /ws');
    if (!originAllowed(req, this.config.httpOrigins)) {
      this.log.info({ origin: req.headers.origin, host: req.headers.host, remote: socket.remoteAddress }, 'refused a WebSocket from another origin');
      return refuseUpgrade(socket, 403, HttpError.ORIGIN_REFUSED, `origin ${String(req.headers.origin)} may not open this WebSocket (--http-origins)`);
    }
    // An invalid handshake (no key, wrong version) is answered 400 by ws, which closes the socket.
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // From here the session owns the connection and reports its end (with connId).
      const connId = this.open.get(socket)?.connId;
      this.open.delete(socket);
      this.events.webSocket(new WebSocketTransport(ws, socket, this.config), connId);
    });
  }
}

/** The request's URL, or null when its target is not an origin-form path. */
function parseUrl(req: http.IncomingMessage): URL | null {
  const target = req.url ?? '';
  if (!target.startsWith('/')) return null;
  try {
    return new URL(target, 'http://gateway.invalid');
  } catch {
    return null;
  }
}

/**
 * The Origin rule of /ws: no Origin header (not a browser) is allowed; `*` in the list allows
 * any; a listed origin (scheme://host[:port], compared case-insensitively) is allowed; an empty
 * list allows the page's own origin, i.e. an Origin whose host:port is the request's Host.
 */
export function originAllowed(req: http.IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;
  const wanted = origin.toLowerCase();
  if (allowed.length > 0) return allowed.some((a) => a.toLowerCase().replace(/\/+$/, '') === wanted);
  let originHost: string;
  try {
    const parsed = new URL(origin);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    originHost = parsed.host;
  } catch {
    return false;
  }
  const host = req.headers.host?.toLowerCase();
  if (host === undefined) return false;
  // URL drops a default port (:80, :443); a Host header may carry it.
  return originHost === host || originHost === host.replace(/:(80|443)$/, '');
}

/** Answers a refused upgrade (or a refused request) with a JSON body and closes the connection. */
function refuseUpgrade(socket: net.Socket, status: number, code: string, message: string): void {
  if (!socket.writable) return void socket.destroy();
  countHttpError(code);
  socket.end(closingJsonAnswer(status, code, message));
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * A request Node's parser refused or timed out (it has no route): answered in the gateway's
 * JSON shape instead of Node's bare status line, then closed. Nothing is written when a
 * response is under way or the peer is gone.
 */
function onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
  const inResponse = (socket as net.Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || inResponse) return void socket.destroy();
  if (err.code === 'HPE_HEADER_OVERFLOW') return refuseUpgrade(socket, 431, HttpError.HEADERS_TOO_LARGE, `request headers over ${MAX_HEADER_BYTES} bytes`);
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return refuseUpgrade(socket, 408, HttpError.REQUEST_TIMEOUT, 'the request was not received in time');
  refuseUpgrade(socket, 400, HttpError.BAD_REQUEST, 'malformed HTTP request');
}
