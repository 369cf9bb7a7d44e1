import type http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { FileAnswer, FileAsk } from '../ipc/file-messages';
import { workerMetrics } from '../metrics/worker-metrics';
import { createFilesRoute } from './files-route';

/**
 * The HTTP route seam of the worker's gateway (http-gateway.ts). A request goes to the first
 * route whose `handles` says yes; `/ws` upgrades are the gateway's own, the web app's static
 * files come last (static-route.ts), and anything no route takes is a 404 JSON.
 */
export interface HttpRoute {
  /** Whether this route serves `pathname` (already URL-parsed, not decoded). */
  handles(pathname: string): boolean;
  /**
   * Serves the request; must answer (errors as `sendJsonError`) and must not throw for bad
   * input. A throw is logged and answered 500 INTERNAL_ERROR if nothing was sent yet.
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void;
}

/** What a route is built with. */
export interface HttpRouteDeps {
  config: Config;
  log: Logger;
  /** Asks the hub about files (the worker's FileAsker). */
  askFiles(ask: FileAsk): Promise<FileAnswer>;
}

/**
 * The feature routes, mounted ahead of the static files in this order (first match wins).
 * A feature adds its route here, e.g. `createFilesRoute(deps)` for `/files`.
 */
export function featureRoutes(deps: HttpRouteDeps): HttpRoute[] {
  return [createFilesRoute(deps)];
}

/** Error codes of HTTP answers (the `error` field); a feature route may use its own codes too. */
export const HttpError = {
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** A WebSocket upgrade from a page whose Origin is not allowed (--http-origins). */
  ORIGIN_REFUSED: 'ORIGIN_REFUSED',
  /** A plain request to /ws. */
  UPGRADE_REQUIRED: 'UPGRADE_REQUIRED',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  /** Request headers over 16 KiB (431). */
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  /** Headers not complete in 10 s, or the request in 10 min (408). */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** Over the connection's request rate, `--http-rate-limit` (429 with Retry-After). */
  RATE_LIMITED: 'RATE_LIMITED',
} as const;

/**
 * Answers `status` with the JSON body `{"error": code, "message": message}` (the shape of every
 * HTTP error of the gateway, docs/PROTOCOL.md "WebSocket"), unless headers went out already;
 * an answer sent is counted by `code` (switchboard_http_errors_total, see countHttpError).
 */
export function sendJsonError(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  countHttpError(code);
  const body = JSON.stringify({ error: code, message });
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/**
 * Counts an HTTP error answer of the gateway by its code. The codes are the gateway's and the
 * hub's closed sets (HttpError, the file answers' codes), never a path or anything a client
 * sends, so the series stay few (the counter keeps 64 values at most in any case).
 */
export function countHttpError(code: string): void {
  workerMetrics.httpErrors.incFor(code);
}
