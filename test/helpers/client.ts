import net from 'node:net';
import tls from 'node:tls';
import { ReceivedMessages } from './received-messages';

/**
 * Test harness: a raw NDJSON client that records every server message in order. By default it
 * declares itself extended (a `hello` as its first line, whose `hello` answer it keeps aside in
 * `helloReply` rather than among `received`), so it gets `error` lines and every other type;
 * `{ core: true }` makes it a pure seed-004 client that sends only what a test sends.
 */

export type Msg = { type: string; [key: string]: unknown };

export interface ConnectOptions {
  /** A pure seed-004 client: no `hello`, so the server sends it only the core types. */
  core?: boolean;
}

const HELLO = JSON.stringify({ type: 'hello', capabilities: ['extended'] }) + '\n';

export class TestClient extends ReceivedMessages {
  /** Lines that were not JSON (should never happen). */
  readonly rawLines: string[] = [];
  private pending = '';
  readonly closed: Promise<void>;

  private constructor(
    readonly socket: net.Socket,
    saidHello: boolean,
  ) {
    super(saidHello);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.pending += chunk;
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) !== -1) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        try {
          this.take(JSON.parse(line) as Msg);
        } catch {
          this.rawLines.push(line);
        }
      }
      this.arrived();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.end();
        resolve();
      }),
    );
  }

  static connect(target: number | { path: string }, opts: ConnectOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = typeof target === 'number' ? net.createConnection({ host: '127.0.0.1', port: target }) : net.createConnection(target.path);
      socket.once('connect', () => resolve(TestClient.opened(socket, opts)));
      socket.once('error', reject);
    });
  }

  /** Connects over TLS to 127.0.0.1:`port`; resolves once the handshake is done. */
  static connectTls(port: number, options: tls.ConnectionOptions = {}, opts: ConnectOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...options });
      socket.once('secureConnect', () => resolve(TestClient.opened(socket, opts)));
      socket.once('error', reject);
    });
  }

  private static opened(socket: net.Socket, opts: ConnectOptions): TestClient {
    const client = new TestClient(socket, !opts.core);
    // Read after the welcome, like any line sent early: the server answers it after roomcontents.
    if (!opts.core) socket.write(HELLO);
    return client;
  }

  /** connectTls, then the welcome as in `welcomed`. */
  static async welcomedTls(port: number, options: tls.ConnectionOptions = {}, timeoutMs = 20_000, opts: ConnectOptions = {}): Promise<{ client: TestClient; identity: string }> {
    const client = await TestClient.connectTls(port, options, opts);
    const hello = await client.next(timeoutMs);
    if (hello.type !== 'newidentity') throw new Error(`expected newidentity, got ${JSON.stringify(hello)}`);
    await client.waitFor((m) => m.type === 'roomcontents', timeoutMs);
    return { client, identity: hello.identity as string };
  }

  /** Connects and consumes the welcome (newidentity, roomchange, roomlist, roomcontents). */
  static async welcomed(target: number | { path: string }, timeoutMs = 20_000, opts: ConnectOptions = {}): Promise<{ client: TestClient; identity: string }> {
    const client = await TestClient.connect(target, opts);
    // Generous: a dedicated-placement client may wait for a worker process to start.
    const hello = await client.next(timeoutMs);
    if (hello.type !== 'newidentity') throw new Error(`expected newidentity, got ${JSON.stringify(hello)}`);
    await client.waitFor((m) => m.type === 'roomcontents', timeoutMs);
    return { client, identity: hello.identity as string };
  }

  get localPort(): number {
    return this.socket.localPort!;
  }

  send(msg: object | string): void {
    this.socket.write(typeof msg === 'string' ? msg : JSON.stringify(msg) + '\n');
  }

  close(): Promise<void> {
    this.socket.end();
    this.socket.destroy();
    return this.closed;
  }
}
