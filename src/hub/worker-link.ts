import type net from 'node:net';
import { FrameDecoder } from '../ipc/frame-codec';
import { decodeWorkerToHub, type WorkerToHub } from '../ipc/hub-link-messages';
import type { WriteBatcher } from '../net/write-batcher';

/** Largest frame a worker may send: a HELLO of a busy worker is the biggest one. */
const MAX_WORKER_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * Local ids of sessions handed to a worker by an upgrade start here: a worker numbers its own
 * sessions from 1 and never gets this far (2^31 connections), so the two never meet.
 */
export const ADOPTED_IDS_FROM = 0x8000_0000;

/** The hub's end of one worker's Unix socket. */
export class WorkerLink {
  /** Set by the worker's HELLO; frames before it are a protocol error. */
  workerId: number | null = null;
  /** Local session ids of this worker that the hub knows. */
  readonly sessions = new Set<number>();
  private readonly decoder = new FrameDecoder(MAX_WORKER_FRAME_BYTES);
  /**
   * Sessions another worker handed to this one (an upgrade): local id -> the key the session
   * has kept since it first connected (keys are the chat state's names for sessions and never
   * change). Their local ids are given by the hub, from ADOPTED_IDS_FROM up.
   */
  readonly aliases = new Map<number, string>();
  private nextAdopted = ADOPTED_IDS_FROM;

  constructor(
    readonly socket: net.Socket,
    private readonly batcher: WriteBatcher,
    onMessage: (link: WorkerLink, msg: WorkerToHub) => void,
    onBroken: (link: WorkerLink, err: Error) => void,
    /** The cluster node id this hub runs as ('' on one node): its sessions' keys start `<node>/`. */
    readonly node = '',
  ) {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, (kind, payload) => onMessage(this, decodeWorkerToHub(kind, payload)));
      } catch (err) {
        onBroken(this, err as Error);
      }
    });
  }

  keyOf(id: number): string {
    const alias = this.aliases.size > 0 ? this.aliases.get(id) : undefined;
    if (alias !== undefined) return alias;
    return this.node ? `${this.node}/${this.workerId}:${id}` : `${this.workerId}:${id}`;
  }

  /** A local id for a session handed to this worker, unused by it (see ADOPTED_IDS_FROM). */
  adoptedId(): number {
    return this.nextAdopted++;
  }

  /** An id the worker listed in its HELLO: adopted ids given from now on stay above it. */
  noteId(id: number): void {
    if (id >= this.nextAdopted) this.nextAdopted = id + 1;
  }

  write(frame: Buffer): void {
    if (!this.socket.destroyed) this.batcher.write(this.socket, frame);
  }
}

/**
 * Splits a session key (`<workerId>:<id>`, or `<node>/<workerId>:<id>` in a cluster) back
 * into its node ('' on one node), worker id and local id.
 */
export function parseSessionKey(key: string): { node: string; workerId: number; id: number } {
  const slash = key.indexOf('/');
  const colon = key.indexOf(':', slash + 1);
  return { node: slash === -1 ? '' : key.slice(0, slash), workerId: Number(key.slice(slash + 1, colon)), id: Number(key.slice(colon + 1)) };
}
