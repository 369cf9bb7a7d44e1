/**
 * `maxConnectionsPerAddress`: open connections per remote address, counted in the supervisor
 * from accept until the worker reports the session closed (or the worker dies). Each counted
 * connection gets an id that travels with it to the worker (`conn`) and back
 * (`session-closed`), so each one is released exactly once, whatever the order of events.
 * Unix-socket clients have no address: they are not counted.
 *
 * `W` is whatever identifies a worker (the supervisor's Child).
 */
export class AddressLimit<W> {
  private readonly perAddress = new Map<string, number>();
  private readonly conns = new Map<number, { address: string; worker: W | null }>();
  private readonly byWorker = new Map<W, Set<number>>();
  private nextId = 1;

  constructor(private max: number) {}

  /** A new cap (a settings reload): addresses over it keep their connections, new ones wait until under it. */
  setMax(max: number): void {
    this.max = max;
  }

  /** Counts a new connection from `address`: its id, or null when the address is at the cap. */
  admit(address: string): number | null {
    const key = normalizeAddress(address);
    const n = this.perAddress.get(key) ?? 0;
    if (n >= this.max) return null;
    this.perAddress.set(key, n + 1);
    const id = this.nextId++;
    this.conns.set(id, { address: key, worker: null });
    return id;
  }

  /** The connection was handed to `worker`: if that worker dies, the connection is gone too. */
  placed(id: number, worker: W): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    conn.worker = worker;
    let ids = this.byWorker.get(worker);
    if (!ids) this.byWorker.set(worker, (ids = new Set()));
    ids.add(id);
  }

  /** The connection ended (its worker said so, it was refused, or its hand-off failed). Idempotent. */
  release(id: number): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    this.conns.delete(id);
    if (conn.worker !== null) {
      const ids = this.byWorker.get(conn.worker);
      ids?.delete(id);
      if (ids?.size === 0) this.byWorker.delete(conn.worker);
    }
    const n = (this.perAddress.get(conn.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(conn.address, n);
    else this.perAddress.delete(conn.address);
  }

  /** The worker died: every connection it held ended with it. */
  releaseWorker(worker: W): void {
    for (const id of [...(this.byWorker.get(worker) ?? [])]) this.release(id);
  }

  /** Open connections from `address` now. */
  count(address: string): number {
    return this.perAddress.get(normalizeAddress(address)) ?? 0;
  }
}

/** An IPv4 client of a dual-stack listener shows as `::ffff:a.b.c.d`: the same address as `a.b.c.d`. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
