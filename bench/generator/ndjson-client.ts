import net from 'node:net';
import type { BenchClient, ClientTarget, ConnectTimes, DeliverySink } from './bench-client';
import { now } from './clock';
import { messageTimestamp, LineKind, lineKind } from './line-scan';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const HELLO_LINE = JSON.stringify({ type: 'hello', capabilities: ['extended'] }) + '\n';

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * A Switchboard client on the raw NDJSON protocol. Deliveries are scanned, not parsed; only
 * the few control lines it waits for (identity, welcome, its own join, errors) are parsed.
 */
export class NdjsonClient implements BenchClient {
  identity = '';
  private socket: net.Socket | null = null;
  private rest: Buffer | null = null;
  private queue = '';
  private closing = false;
  private welcomed = false;
  private lastError = '';
  private connecting: (Pending<ConnectTimes> & { times: ConnectTimes }) | null = null;
  private joining: (Pending<void> & { room: string }) | null = null;

  constructor(
    private readonly target: ClientTarget,
    private readonly sink: DeliverySink,
  ) {}

  connect(): Promise<ConnectTimes> {
    return new Promise((resolve, reject) => {
      const times: ConnectTimes = { start: now(), open: 0, identity: 0, welcome: 0 };
      this.connecting = { resolve, reject, times };
      const socket = net.connect({
        host: this.target.host,
        port: this.target.port,
        localAddress: this.target.localAddress,
        // Reads land in one buffer shared by every socket of the process (no allocation per
        // read); onData copies whatever it keeps before returning.
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array) => {
            this.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
            return true;
          },
        },
      });
      this.socket = socket;
      socket.setNoDelay(true);
      // Declared extended (docs/PROTOCOL.md): a core client is closed without the reason, and
      // the bench reports why a client was closed (SLOW_CONSUMER, RATE_LIMITED, ...).
      socket.write(HELLO_LINE);
      socket.once('connect', () => (times.open = now()));
      socket.on('error', (err) => (this.lastError = err.message));
      socket.on('close', () => this.onClose());
    });
  }

  join(room: string, create: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.joining = { resolve, reject, room };
      if (create) this.queue += JSON.stringify({ type: 'createroom', roomid: room }) + '\n';
      this.queue += JSON.stringify({ type: 'join', roomid: room }) + '\n';
      this.flush();
    });
  }

  send(content: string): void {
    // Content is digits, a dot, a space and padding letters: nothing JSON must escape.
    this.queue += '{"type":"message","content":"' + content + '"}\n';
  }

  flush(): void {
    if (this.queue.length === 0 || !this.socket) return;
    this.socket.write(this.queue);
    this.queue = '';
  }

  backlogged(bytes: number): boolean {
    return (this.socket?.writableLength ?? 0) > bytes;
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    const receivedAt = now();
    let start = 0;
    if (this.rest) {
      // Finish the line split over chunks by copying just that line, never the whole chunk.
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return;
      }
      const line = Buffer.concat([this.rest, chunk.subarray(0, nl + 1)]);
      this.rest = null;
      this.onLine(line, 0, line.length - 1, receivedAt);
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      this.onLine(chunk, start, nl, receivedAt);
      start = nl + 1;
    }
    if (start < chunk.length) this.rest = Buffer.from(chunk.subarray(start));
  }

  private onLine(buf: Buffer, start: number, end: number, receivedAt: number): void {
    const kind = lineKind(buf, start);
    if (kind === LineKind.Message) this.sink.delivery(messageTimestamp(buf, start, end), receivedAt);
    else if (kind !== LineKind.Other) this.onControl(kind, buf, start, end, receivedAt);
  }

  private onControl(kind: LineKind, buf: Buffer, start: number, end: number, at: number): void {
    const c = this.connecting;
    if (kind === LineKind.NewIdentity && c && !this.identity) {
      this.identity = (JSON.parse(buf.toString('utf8', start, end)) as { identity: string }).identity;
      c.times.identity = at;
    } else if (kind === LineKind.RoomContents && c && !this.welcomed) {
      this.welcomed = true;
      c.times.welcome = at;
      this.connecting = null;
      c.resolve(c.times);
    } else if (kind === LineKind.RoomChange && this.joining) {
      const m = JSON.parse(buf.toString('utf8', start, end)) as { identity: string; former: string; roomid: string };
      if (m.identity !== this.identity) return;
      const j = this.joining;
      if (m.roomid === j.room) {
        this.joining = null;
        j.resolve();
      } else if (m.former !== '' && m.roomid === m.former) {
        // The server's answer to a join it refuses: a roomchange that goes nowhere.
        this.joining = null;
        j.reject(new Error(`join ${j.room} refused: still in ${m.roomid}`));
      }
    } else if (kind === LineKind.Error) {
      const m = JSON.parse(buf.toString('utf8', start, end)) as { code?: string };
      this.lastError = m.code ?? 'error';
    }
  }

  private onClose(): void {
    const reason = `closed by server${this.lastError ? ` (${this.lastError})` : ''}`;
    const pending: Array<Pending<never> | null> = [this.connecting, this.joining];
    this.connecting = null;
    this.joining = null;
    for (const p of pending) p?.reject(new Error(reason));
    if (!this.closing && this.welcomed) this.sink.closed(reason);
  }
}
