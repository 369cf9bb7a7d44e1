import net from 'node:net';
import { FrameDecoder, encodeFrame } from '../../src/ipc/frame-codec';
import { Kind, decodeHubToWorker, type HubToWorker } from '../../src/ipc/hub-link-messages';
import { hubSocketPath } from '../../src/ipc/paths';
import type { Msg } from './client';
import { until } from './wait';

/**
 * Test harness: a raw connection to a running hub's Unix socket (`<data-dir>/run/hub.sock`), as
 * a worker's would be, to send it what no real worker sends (garbage, oversized lengths, frames
 * before HELLO, forged requests) and to read the hub's frames back.
 */
export class RawHubLink {
  readonly frames: HubToWorker[] = [];
  readonly closed: Promise<void>;
  private isClosed = false;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, (kind, payload) => this.frames.push(decodeHubToWorker(kind, payload))));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static connect(dataDir: string): Promise<RawHubLink> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(hubSocketPath(dataDir));
      socket.once('connect', () => resolve(new RawHubLink(socket)));
      socket.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** A JSON frame of `kind`, as the real encoders build them. */
  sendJson(kind: number, value: unknown): void {
    this.write(encodeFrame(kind, Buffer.from(JSON.stringify(value))));
  }

  hello(workerId: number): void {
    this.sendJson(Kind.HELLO, { workerId, sessions: [] });
  }

  open(id: number): void {
    this.sendJson(Kind.OPEN, { id, address: '127.0.0.1' });
  }

  request(id: number, request: object): void {
    this.sendJson(Kind.REQUEST, { id, request });
  }

  /** The client lines the hub sent to session `id` so far, parsed. */
  linesTo(id: number): Msg[] {
    const out: Msg[] = [];
    for (const f of this.frames) {
      if (f.kind !== Kind.TO_SESSIONS || !f.ids.includes(id)) continue;
      for (const line of f.line.toString().split('\n')) if (line) out.push(JSON.parse(line) as Msg);
    }
    return out;
  }

  /** Waits for a line to session `id` matching `pred`, among those after the first `from`. */
  waitLine(id: number, what: string, pred: (m: Msg) => boolean, from = 0, timeoutMs = 5000): Promise<Msg> {
    return until(what, () => this.linesTo(id).slice(from).find(pred), timeoutMs);
  }

  /** The identity the hub last mirrored for session `id`. */
  identityOf(id: number): string | undefined {
    let identity: string | undefined;
    for (const f of this.frames) if (f.kind === Kind.STATE && f.id === id) identity = f.view.identity;
    return identity;
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}
