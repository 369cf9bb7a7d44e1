/** What the batcher needs of a stream: a net.Socket, or a transport that corks one. */
export interface Corkable {
  readonly writableCorked: number;
  cork(): void;
  uncork(): void;
  write(bytes: Buffer | string): unknown;
}

/**
 * Coalesces writes: a socket written during this event-loop turn is corked once and uncorked
 * in the check phase, so a burst of frames becomes one writev per socket instead of one
 * syscall per frame. Used on every hot write path (hub -> worker, worker -> client).
 */
export class WriteBatcher {
  private corked: Corkable[] = [];
  private scheduled = false;
  private readonly flush = (): void => {
    this.scheduled = false;
    const sockets = this.corked;
    this.corked = [];
    for (const s of sockets) s.uncork();
  };

  write(socket: Corkable, bytes: Buffer | string): void {
    if (socket.writableCorked === 0) {
      socket.cork();
      this.corked.push(socket);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    }
    socket.write(bytes);
  }
}
