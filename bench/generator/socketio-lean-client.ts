import WebSocket from 'ws';
import type { BenchClient, ClientTarget, ConnectTimes, DeliverySink } from './bench-client';
import { now } from './clock';
import { messageTimestamp } from './line-scan';

/**
 * A Socket.IO client reduced to what the bench needs, speaking the wire protocol itself
 * (Engine.IO 4 over a websocket, Socket.IO 5 packets): `0{...}` open, `40` connect,
 * `2`/`3` ping/pong, `42[event,data]` events. A delivery frame `42["message",{...}]` is
 * recognised by its leading bytes and its stamp read in place, as the NDJSON client does,
 * so the generator spends on the baseline what it spends on Switchboard, not the ~10 µs per
 * event of socket.io-client's full decode (which on a 2-core machine is taken from the server).
 */
export class SocketIoLeanClient implements BenchClient {
  identity = '';
  private ws: WebSocket | null = null;
  private queue: string[] = [];
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
      const ws = new WebSocket(`ws://${this.target.host}:${this.target.port}/socket.io/?EIO=4&transport=websocket`, {
        perMessageDeflate: false,
        localAddress: this.target.localAddress,
      });
      this.ws = ws;
      ws.on('message', (data: Buffer) => {
        // 42["m(essage)": a delivery, the hot path.
        if (data[0] === 0x34 && data[1] === 0x32 && data[4] === 0x6d) {
          this.sink.delivery(messageTimestamp(data, 0, data.length - 1), now());
          return;
        }
        // 42["r(oomchange)" of others, not waited for: the storm's bulk, skipped undecoded.
        if (data[0] === 0x34 && data[1] === 0x32 && data[4] === 0x72 && !this.joining) return;
        const text = data.toString('utf8');
        if (text === '2') ws.send('3');
        else if (text.startsWith('0{')) ws.send('40');
        else if (text.startsWith('40')) times.open = now();
        else if (text.startsWith('42["newidentity"') ? !this.welcomed : text.startsWith('42["roomchange"') && this.joining) {
          // Only the events waited for are decoded; others' arrivals are just counted out.
          this.onEvent(JSON.parse(text.slice(2)) as [string, Record<string, string>], times, resolve);
        }
        else if (text.startsWith('44')) reject(new Error(`connect refused: ${text}`));
      });
      ws.on('error', (err) => {
        if (!this.welcomed) reject(err);
      });
      ws.on('close', (code) => {
        this.joining?.reject(new Error(`closed (${code})`));
        this.joining = null;
        if (!this.welcomed) reject(new Error(`closed before identity (${code})`));
        else if (!this.closing) this.sink.closed(`closed by server (${code})`);
      });
    });
  }

  private onEvent([event, data]: [string, Record<string, string>], times: ConnectTimes, welcome: (t: ConnectTimes) => void): void {
    if (event === 'newidentity' && !this.welcomed) {
      this.identity = data.identity!;
      times.identity = times.welcome = now();
      this.welcomed = true;
      welcome(times);
    } else if (event === 'roomchange' && this.joining && data.identity === this.identity) {
      const j = this.joining;
      if (data.roomid === j.room) {
        this.joining = null;
        j.resolve();
      } else if (data.former !== '' && data.roomid === data.former) {
        this.joining = null;
        j.reject(new Error(`join ${j.room} refused`));
      }
    }
  }

  join(room: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.joining = { room, resolve, reject };
      this.ws!.send(`42${JSON.stringify(['join', room])}`);
    });
  }

  send(content: string): void {
    // Content needs no JSON escaping (digits, letters, a dot, a space).
    this.queue.push('42["message","' + content + '"]');
  }

  flush(): void {
    // One websocket frame per Socket.IO packet, as socket.io-client sends them.
    for (const frame of this.queue) this.ws?.send(frame);
    this.queue.length = 0;
  }

  backlogged(bytes: number): boolean {
    return (this.ws?.bufferedAmount ?? 0) > bytes;
  }

  close(): void {
    this.closing = true;
    this.ws?.terminate();
  }
}
