/** What the generator needs of a chat client, whichever server protocol it speaks. */

export interface ConnectTimes {
  start: number;
  /** TCP connect (ndjson) or the Socket.IO handshake's `connect` (socketio). */
  open: number;
  /** `newidentity` received. */
  identity: number;
  /** Welcome complete: `roomcontents` (ndjson) or `newidentity` (socketio, which sends no more). */
  welcome: number;
}

/** Where a client reports what it receives; one per generator process. */
export interface DeliverySink {
  /** A chat message arrived at `receivedAt`, stamped `sentAt` by its sender (NaN: no stamp). */
  delivery(sentAt: number, receivedAt: number): void;
  /** The server closed a client after its welcome. */
  closed(reason: string): void;
}

export interface BenchClient {
  readonly identity: string;
  /** Connects and resolves once the welcome is complete. */
  connect(): Promise<ConnectTimes>;
  /** Joins `room` (creating it first if asked) and resolves on the server's confirmation. */
  join(room: string, create: boolean): Promise<void>;
  /** Queues one chat message; `flush` writes the queue. */
  send(content: string): void;
  flush(): void;
  /** True when more than `bytes` wait unsent (the server is not reading). */
  backlogged(bytes: number): boolean;
  /** Closes without telling the sink. */
  close(): void;
}

export interface ClientTarget {
  host: string;
  port: number;
  localAddress?: string;
}
