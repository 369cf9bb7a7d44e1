import net from 'node:net';
import { FrameDecoder } from '../ipc/frame-codec';
import { decodeHubToWorker, encodeHello, type Hello, type HubToWorker } from '../ipc/hub-link-messages';
import { WriteBatcher } from '../net/write-batcher';

/**
 * The hub's frames: at most ~1 MiB of gathered chat plus one line, a line being at most
 * 1 MiB of client input that JSON escaping can grow up to six-fold.
 */
const MAX_HUB_FRAME_BYTES = 16 * 1024 * 1024;
const RECONNECT_MIN_MS = 25;
const RECONNECT_MAX_MS = 1000;

export interface HubLinkEvents {
  /** Builds the HELLO sent on every (re)connect: the worker's sessions as it mirrors them. */
  hello(): Hello;
  frame(msg: HubToWorker): void;
  /** `frame` threw (a bug): the frame is skipped and the link kept, since framing is intact. */
  frameFailed(msg: HubToWorker, err: Error): void;
  /** Connected and HELLO sent (first time and after each hub restart). */
  up(): void;
  /**
   * The link went down; it reconnects by itself. `err`: the link was dropped because a hub
   * frame could not be decoded (the reason to log), not because the hub went away.
   */
  down(err?: Error): void;
}

interface Queued {
  frame: Buffer;
  /** Runs once the frame is handed to a live hub socket. */
  written?: () => void;
}

/**
 * A worker's link to the hub. Survives hub restarts: while the hub is away, frames wait in a
 * bounded queue and are sent, after a fresh HELLO, once it is back.
 */
export class HubLink {
  private socket: net.Socket | null = null;
  private connected = false;
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private retryMs = RECONNECT_MIN_MS;
  private stopped = false;
  private readonly batcher = new WriteBatcher();

  constructor(
    private readonly socketPath: string,
    private readonly maxQueuedBytes: number,
    private readonly events: HubLinkEvents,
  ) {}

  start(): void {
    this.connect();
  }

  get isUp(): boolean {
    return this.connected;
  }

  /** Bytes waiting for the hub: queued while it is away, plus the link socket's buffer (metrics). */
  get pendingBytes(): number {
    return this.queuedBytes + (this.socket?.writableLength ?? 0);
  }

  /** Sends, or queues while the hub is away. False when the queue is full (frame dropped). */
  send(frame: Buffer, written?: () => void): boolean {
    if (this.connected && this.socket) {
      this.batcher.write(this.socket, frame);
      written?.();
      return true;
    }
    if (this.queuedBytes + frame.length > this.maxQueuedBytes) return false;
    this.queue.push({ frame, written });
    this.queuedBytes += frame.length;
    return true;
  }

  /** Resolves once everything written so far has been flushed to the kernel. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.socket || !this.connected) return resolve();
      this.socket.write(Buffer.alloc(0), () => resolve());
    });
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }

  private connect(): void {
    const socket = net.createConnection(this.socketPath);
    const decoder = new FrameDecoder(MAX_HUB_FRAME_BYTES);
    let broken: Error | undefined;
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.retryMs = RECONNECT_MIN_MS;
      socket.cork();
      socket.write(encodeHello(this.events.hello()));
      for (const q of this.queue.splice(0)) {
        socket.write(q.frame);
        q.written?.();
      }
      this.queuedBytes = 0;
      socket.uncork();
      this.events.up();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (kind, payload) => {
          const msg = decodeHubToWorker(kind, payload);
          try {
            this.events.frame(msg);
          } catch (err) {
            this.events.frameFailed(msg, err as Error);
          }
        });
      } catch (err) {
        // Framing cannot resync after a bad frame: drop the link; the next HELLO starts afresh.
        broken = err as Error;
        socket.destroy();
      }
    });
    socket.on('error', () => {
      /* 'close' follows and handles it */
    });
    socket.on('close', () => {
      const wasUp = this.connected;
      this.connected = false;
      this.socket = null;
      if (wasUp) this.events.down(broken);
      if (this.stopped) return;
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
    });
  }
}
