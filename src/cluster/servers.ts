/**
 * The `cluster` setting: the NATS servers of the cluster log, as the NATS client takes them.
 * Only `nats://host:port` entries are accepted (the client library would also take bare
 * `host:port`, but a contract flag is clearer with one spelling: docs/CLUSTER.md).
 */

/** `nats://` + a host name, IPv4 or [IPv6] address + `:` + a port from 1 to 65535. */
const SERVER = /^nats:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * Splits and checks a `--cluster` value. Throws an Error whose message names the first bad
 * entry, e.g. `"127.0.0.1:4222" is not nats://HOST:PORT`.
 *
 * @example parseClusterServers('nats://10.0.0.1:4222,nats://10.0.0.2:4222') // two servers
 */
export function parseClusterServers(text: string): string[] {
  const servers = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (servers.length === 0) throw new Error('no NATS server given');
  for (const s of servers) {
    const m = SERVER.exec(s);
    if (!m) throw new Error(`${JSON.stringify(s)} is not nats://HOST:PORT`);
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw new Error(`${JSON.stringify(s)}: the port must be from 1 to 65535`);
  }
  return servers;
}
