/**
 * Several servers for one session (`switchboard connect H1:P1,H2:P2,...`, the nodes of a
 * cluster): which one to dial, in turn. Every node of a cluster serves the same chat (its
 * rooms' seq and epochs are the same on every node: docs/CLUSTER.md), so a session that drops
 * comes back on another node and resumes its room there as it would on the same server.
 */

/**
 * Round robin over `count` servers. The first connection tries each in order, once; each
 * reconnection attempt dials the server after the one dialled last (the session's backoff
 * spaces the attempts), so a dead node costs one attempt per round. With one server every
 * attempt dials it: the single-server behaviour.
 *
 * @typeParam S what a successful dial gives (a socket)
 */
export class ServerRing<S> {
  private last = 0;

  /** @param dial opens a connection to server `index` (0-based, in the order given); rejects on failure */
  constructor(
    private readonly count: number,
    private readonly dial: (index: number) => Promise<S>,
  ) {
    if (count < 1) throw new Error('no server to connect to');
  }

  /** The server dialled last: once a dial succeeded, the one connected to. */
  get index(): number {
    return this.last;
  }

  /**
   * The first connection: server 0, else 1, ... Resolves with the first that answers; rejects
   * with every server's error, in order (an AggregateError's `errors`), when none does.
   */
  async first(): Promise<S> {
    const errors: Error[] = [];
    for (let i = 0; i < this.count; i++) {
      this.last = i;
      try {
        return await this.dial(i);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    throw new AggregateError(errors, 'no server answered');
  }

  /** One reconnection attempt: the next server after the one dialled last. */
  next(): Promise<S> {
    this.last = (this.last + 1) % this.count;
    return this.dial(this.last);
  }
}
