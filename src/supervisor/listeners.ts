import fs from 'node:fs';
import net from 'node:net';
import type { Config } from '../config/schema';
import { answers } from './data-dir';

export interface ListenAddresses {
  host: string;
  /** The plain TCP port, or null when plain TCP is off. */
  port: number | null;
  /** The TLS port (same host), or null when TLS is off. */
  tlsPort: number | null;
  unixSocket: string | null;
  /** The HTTP port (web app and /ws), or null when HTTP is off. */
  httpPort: number | null;
  /** The HTTPS port, or null when HTTPS is off. */
  httpsPort: number | null;
}

/**
 * Which listener accepted a socket, as far as a worker must know: `tls` and `https` are still
 * raw TCP here (a worker does the handshake); `http` and `https` speak HTTP after that.
 */
export type ListenerKind = 'plain' | 'tls' | 'http' | 'https';

/** Sockets accepted on any listener but the plain ones (TCP, Unix), by kind. */
const acceptedOn = new WeakMap<net.Socket, ListenerKind>();

/** The listener a socket came in on. */
export function listenerKind(socket: net.Socket): ListenerKind {
  return acceptedOn.get(socket) ?? 'plain';
}

/**
 * The client-facing listeners. Accepted sockets stay paused (`pauseOnConnect`): the supervisor
 * never reads a client byte, it only hands the descriptor on (TLS and HTTP ones too: see listenerKind).
 */
export async function openListeners(config: Config, onSocket: (socket: net.Socket) => void): Promise<{ servers: net.Server[]; addresses: ListenAddresses }> {
  const servers: net.Server[] = [];
  try {
    return { servers, addresses: await openEach(config, onSocket, servers) };
  } catch (err) {
    // One port taken: the ones already open must not keep the process alive.
    for (const s of servers) s.close();
    throw err;
  }
}

async function openEach(config: Config, onSocket: (socket: net.Socket) => void, servers: net.Server[]): Promise<ListenAddresses> {
  let port: number | null = null;
  if (config.port !== null) {
    const tcp = net.createServer({ pauseOnConnect: true, noDelay: true }, onSocket);
    await listen(tcp, { host: config.host, port: config.port, backlog: 1024 });
    servers.push(tcp);
    port = (tcp.address() as net.AddressInfo).port;
  }
  const tlsPort = config.tlsPort === null ? null : await openTagged(config, config.tlsPort, 'tls', onSocket, servers);
  if (config.unixSocket) {
    if (await answers(config.unixSocket)) throw new Error(`unix socket ${config.unixSocket} is in use by another server`);
    fs.rmSync(config.unixSocket, { force: true });
    const unix = net.createServer({ pauseOnConnect: true }, onSocket);
    await listen(unix, { path: config.unixSocket });
    servers.push(unix);
  }
  const httpPort = config.httpPort === null ? null : await openTagged(config, config.httpPort, 'http', onSocket, servers);
  const httpsPort = config.httpsPort === null ? null : await openTagged(config, config.httpsPort, 'https', onSocket, servers);
  return { host: config.host, port, tlsPort, unixSocket: config.unixSocket, httpPort, httpsPort };
}

/**
 * A TCP listener whose sockets are tagged with `kind` for the worker. Like every listener it
 * only accepts: no byte is read here, not even an HTTP request line.
 */
async function openTagged(config: Config, port: number, kind: ListenerKind, onSocket: (socket: net.Socket) => void, servers: net.Server[]): Promise<number> {
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    acceptedOn.set(socket, kind);
    onSocket(socket);
  });
  await listen(server, { host: config.host, port, backlog: 1024 });
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

function listen(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function closeListeners(servers: net.Server[], config: Config): void {
  for (const s of servers) s.close();
  if (config.unixSocket) fs.rmSync(config.unixSocket, { force: true });
}
