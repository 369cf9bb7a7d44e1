import type { Msg, TestClient } from './client';

/** A connected client as a stream needs it; the identity is read at each use (it may change). */
export interface StreamingClient {
  readonly client: TestClient;
  readonly identity: string;
}

/** Sends `tag:1`, `tag:2`, ... into the client's room at a fixed pace until stopped or closed. */
export class Streamer<T extends StreamingClient = StreamingClient> {
  sent = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly member: T,
    readonly tag: string,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      if (!this.member.client.isOpen) return this.stop();
      this.member.client.send({ type: 'message', content: `${this.tag}:${++this.sent}` });
    }, everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Its own copies as received: what the server confirmed stored. */
  echoes(roomid: string): Msg[] {
    const { client, identity } = this.member;
    return client.received.filter((m) => m.type === 'message' && m.roomid === roomid && m.identity === identity && String(m.content).startsWith(`${this.tag}:`));
  }
}
