import { WebSocket, type ClientOptions } from 'ws';
import type { Msg } from './client';
import { ReceivedMessages } from './received-messages';

/**
 * Test harness: a WebSocket protocol client (the `ws` package, as a browser would connect to
 * /ws) that records every server message (one per text frame) in order, like TestClient. By
 * default it says `hello` first (extended); `{ core: true }` makes it a pure seed-004 client.
 */
export class WsTestClient extends ReceivedMessages {
  /** Frames that were not one JSON object (should never happen). */
  readonly rawFrames: string[] = [];
  /** How the connection closed: the close code and reason the client saw. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    saidHello: boolean,
  ) {
    super(saidHello);
    ws.on('message', (data, isBinary) => {
      const text = String(data);
      if (isBinary) this.rawFrames.push(`(binary) ${text}`);
      try {
        this.take(JSON.parse(text) as Msg);
      } catch {
        this.rawFrames.push(text);
      }
      this.arrived();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.end();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Opens `url` (e.g. ws://127.0.0.1:PORT/ws); rejects with the HTTP status on a refused upgrade. */
  static connect(url: string, options: ClientOptions & { core?: boolean } = {}): Promise<WsTestClient> {
    const { core, ...wsOptions } = options;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, wsOptions);
      ws.once('open', () => {
        const client = new WsTestClient(ws, !core);
        if (!core) ws.send(JSON.stringify({ type: 'hello', capabilities: ['extended'] }));
        resolve(client);
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  /** Connects and consumes the welcome (newidentity ... roomcontents); returns the identity. */
  static async welcomed(url: string, options: ClientOptions & { core?: boolean } = {}, timeoutMs = 20_000): Promise<{ client: WsTestClient; identity: string }> {
    const client = await WsTestClient.connect(url, options);
    const first = await client.next(timeoutMs);
    if (first.type !== 'newidentity') throw new Error(`expected newidentity, got ${JSON.stringify(first)}`);
    await client.waitFor((m) => m.type === 'roomcontents', timeoutMs);
    return { client, identity: first.identity as string };
  }

  /** One object per text frame (a string is sent as it is). */
  send(msg: object | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    else this.ws.terminate();
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    return this.closed.finally(() => clearTimeout(timer));
  }
}
