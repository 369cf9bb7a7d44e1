import { io, type Socket } from 'socket.io-client';
import type { BenchClient, ClientTarget, ConnectTimes, DeliverySink } from './bench-client';
import { now } from './clock';
import { contentTimestamp } from './line-scan';

interface ChatMessage {
  identity: string;
  content: string;
}

interface RoomChange {
  identity: string;
  former: string;
  roomid: string;
}

/** A client of the Socket.IO baseline (bench/baseline-socketio), websocket transport only. */
export class SocketIoClient implements BenchClient {
  identity = '';
  private socket: Socket | null = null;
  private closing = false;
  private welcomed = false;
  private joining: { room: string; resolve(): void; reject(e: Error): void } | null = null;

  constructor(
    private readonly target: ClientTarget,
    private readonly sink: DeliverySink,
  ) {}

  connect(): Promise<ConnectTimes> {
    return new Promise((resolve, reject) => {
      const times: ConnectTimes = { start: now(), open: 0, identity: 0, welcome: 0 };
      const socket = io(`http://${this.target.host}:${this.target.port}`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        timeout: 30_000,
        localAddress: this.target.localAddress,
      } as Parameters<typeof io>[1]);
      this.socket = socket;
      socket.on('connect', () => (times.open = now()));
      socket.on('newidentity', (m: { identity: string }) => {
        if (this.welcomed) return;
        this.identity = m.identity;
        times.identity = times.welcome = now();
        this.welcomed = true;
        resolve(times);
      });
      socket.on('message', (m: ChatMessage) => this.sink.delivery(contentTimestamp(m.content), now()));
      socket.on('roomchange', (m: RoomChange) => {
        const j = this.joining;
        if (!j || m.identity !== this.identity) return;
        // Our own arrival in MainHall (former '') may still be on its way: not the answer.
        if (m.roomid === j.room) {
          this.joining = null;
          j.resolve();
        } else if (m.former !== '' && m.roomid === m.former) {
          this.joining = null;
          j.reject(new Error(`join ${j.room} refused`));
        }
      });
      socket.on('connect_error', (err: Error) => reject(err));
      socket.on('disconnect', (reason: string) => {
        this.joining?.reject(new Error(`disconnected: ${reason}`));
        this.joining = null;
        if (!this.welcomed) reject(new Error(`disconnected before identity: ${reason}`));
        else if (!this.closing) this.sink.closed(reason);
      });
    });
  }

  join(room: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.joining = { room, resolve, reject };
      this.socket!.emit('join', room);
    });
  }

  send(content: string): void {
    this.socket?.emit('message', content);
  }

  flush(): void {
    /* engine.io batches the packets emitted in one tick by itself */
  }

  backlogged(bytes: number): boolean {
    const engine = this.socket?.io.engine as unknown as { writeBuffer?: unknown[]; transport?: { ws?: { bufferedAmount?: number } } } | undefined;
    const queued = (engine?.writeBuffer?.length ?? 0) * 64 + (engine?.transport?.ws?.bufferedAmount ?? 0);
    return queued > bytes;
  }

  close(): void {
    this.closing = true;
    this.socket?.disconnect();
  }
}
