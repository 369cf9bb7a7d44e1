import { TestClient, type Msg } from './client';
import { until } from './chaos';

/**
 * Two well-behaved clients chatting in a room of their own while a test abuses the server:
 * each sends numbered, timestamped messages; both must receive every message of both, in the
 * order sent, and the time each took to arrive is measured.
 */

export interface PairReport {
  /** Messages sent by each member. */
  sent: Record<'A' | 'B', number>;
  /** (receiver, sender) streams that are not exactly 1..sent in order, with the first problem. */
  problems: string[];
  /** Messages missing at a receiver. */
  lost: number;
  /** Send-to-arrival time over every delivery, in ms. */
  maxLatencyMs: number;
  p99LatencyMs: number;
  deliveries: number;
  /** Errors or disconnects the pair itself saw (there must be none). */
  incidents: string[];
}

interface Member {
  name: 'A' | 'B';
  client: TestClient;
  identity: string;
  sent: number;
  /** Arrival time of each received message, by index in client.received. */
  arrivals: number[];
}

export class ControlPair {
  private timer: NodeJS.Timeout | null = null;
  private readonly latencies: number[] = [];

  private constructor(
    readonly room: string,
    readonly tag: string,
    private readonly members: [Member, Member],
  ) {}

  /** Connects A and B; A creates `room`, both join it. */
  static async open(port: number, room: string, tag: string): Promise<ControlPair> {
    const members: Member[] = [];
    for (const name of ['A', 'B'] as const) {
      const { client, identity } = await TestClient.welcomed(port);
      const m: Member = { name, client, identity, sent: 0, arrivals: [] };
      client.socket.on('data', () => {
        while (m.arrivals.length < client.received.length) m.arrivals.push(Date.now());
      });
      members.push(m);
    }
    const [a, b] = members as [Member, Member];
    a.client.send({ type: 'createroom', roomid: room });
    await a.client.waitFor((m) => m.type === 'roomlist' && (m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === room));
    for (const m of [a, b]) {
      m.client.send({ type: 'join', roomid: room });
      await m.client.waitFor((x) => x.type === 'roomchange' && x.identity === m.identity && x.roomid === room);
    }
    return new ControlPair(room, tag, [a, b]);
  }

  get clients(): TestClient[] {
    return this.members.map((m) => m.client);
  }

  /** Both send one message every `everyMs`. */
  start(everyMs: number): void {
    this.timer = setInterval(() => {
      for (const m of this.members) {
        if (!m.client.isOpen) continue;
        m.client.send({ type: 'message', content: `${this.tag}:${m.name}:${++m.sent}:${Date.now()}` });
      }
    }, everyMs);
  }

  /** Stops sending and waits (up to `timeoutMs`) for each member to receive the last message of both. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await until(
        'both members to receive the last message of both',
        () => this.members.every((rx) => !rx.client.isOpen || this.members.every((tx) => tx.sent === 0 || this.numbers(rx, tx.name).includes(tx.sent))),
        timeoutMs,
        20,
      );
    } catch {
      /* the report says what is missing */
    }
  }

  /** Every member's own and the other's messages received so far, checked; latencies measured. */
  report(): PairReport {
    const problems: string[] = [];
    const incidents: string[] = [];
    let lost = 0;
    this.latencies.length = 0;
    for (const rx of this.members) {
      if (!rx.client.isOpen) incidents.push(`${rx.name} (${rx.identity}) was disconnected`);
      for (const m of rx.client.received) if (m.type === 'error') incidents.push(`${rx.name} got ${JSON.stringify(m)}`);
      let lastSeq = 0;
      for (const m of this.chat(rx)) {
        const seq = m.msg.seq as number;
        if (!(seq > lastSeq)) problems.push(`${rx.name}: seq ${seq} after ${lastSeq}`);
        lastSeq = seq;
        this.latencies.push(m.at - Number(String(m.msg.content).split(':')[3]));
      }
      for (const tx of this.members) {
        const got = this.numbers(rx, tx.name);
        const firstBad = got.findIndex((n, i) => n !== i + 1);
        if (firstBad !== -1) problems.push(`${rx.name} from ${tx.name}: expected ${firstBad + 1} at position ${firstBad}, got ${got[firstBad]} (around ${JSON.stringify(got.slice(Math.max(0, firstBad - 2), firstBad + 3))})`);
        lost += Math.max(0, tx.sent - new Set(got).size);
        if (got.length < tx.sent && firstBad === -1) problems.push(`${rx.name} from ${tx.name}: got 1..${got.length} of ${tx.sent}`);
      }
    }
    const sorted = [...this.latencies].sort((x, y) => x - y);
    return {
      sent: { A: this.members[0].sent, B: this.members[1].sent },
      problems: problems.slice(0, 10),
      lost,
      maxLatencyMs: sorted.length ? sorted[sorted.length - 1]! : 0,
      p99LatencyMs: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : 0,
      deliveries: sorted.length,
      incidents: incidents.slice(0, 10),
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const m of this.members) if (m.client.isOpen) await m.client.close();
  }

  /** The pair's messages `rx` received, with their arrival times. */
  private chat(rx: Member): Array<{ msg: Msg; at: number }> {
    const out: Array<{ msg: Msg; at: number }> = [];
    rx.client.received.forEach((msg, i) => {
      if (msg.type === 'message' && msg.roomid === this.room && String(msg.content).startsWith(`${this.tag}:`)) out.push({ msg, at: rx.arrivals[i] ?? Date.now() });
    });
    return out;
  }

  /** The numbers of `sender`'s messages that `rx` received, in arrival order. */
  private numbers(rx: Member, sender: 'A' | 'B'): number[] {
    const identity = this.members.find((m) => m.name === sender)!.identity;
    return this.chat(rx)
      .filter((m) => m.msg.identity === identity)
      .map((m) => String(m.msg.content).split(':'))
      .filter((f) => f[1] === sender)
      .map((f) => Number(f[2]));
  }
}
