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
}

/** Sockets accepted on the TLS listener: still raw TCP here, a worker does the handshake. */
const acceptedOnTls = new WeakSet<net.Socket>();

/** Whether the socket came in on the TLS port (and so must not be written in clear). */
export function isTlsSocket(socket: net.Socket): boolean {
  return acceptedOnTls.has(socket);
}

/**
 * The client-facing listeners. Accepted sockets stay paused (`pauseOnConnect`): the supervisor
 * never reads a client byte, it only hands the descriptor on (TLS ones too: see isTlsSocket).
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
  let tlsPort: number | null = null;
  if (config.tlsPort !== null) {
    const secure = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
      acceptedOnTls.add(socket);
      onSocket(socket);
    });
    await listen(secure, { host: config.host, port: config.tlsPort, backlog: 1024 });
    servers.push(secure);
    tlsPort = (secure.address() as net.AddressInfo).port;
  }
  if (config.unixSocket) {
    if (await answers(config.unixSocket)) throw new Error(`unix socket ${config.unixSocket} is in use by another server`);
    fs.rmSync(config.unixSocket, { force: true });
    const unix = net.createServer({ pauseOnConnect: true }, onSocket);
    await listen(unix, { path: config.unixSocket });
    servers.push(unix);
  }
  return { host: config.host, port, tlsPort, unixSocket: config.unixSocket };
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
