import { checkChatStateImage, arr, need, obj, type ChatStateImage } from '../core/state-image';
import type { Router } from '../hub/router';
import type { ApplyContext } from './apply-context';
import { ClusterSequencer } from './cluster-sequencer';
import type { Replica } from './replica';

/** What a snapshot says it is (`format`), and the shape's version: a loader refuses any other. */
export const SNAPSHOT_FORMAT = 'switchboard-cluster-snapshot';
export const SNAPSHOT_VERSION = 1;

/**
 * A replica's whole deterministic state at a log position, as versioned JSON: what a replica
 * that applied the log up to `seq` holds, so that one restored from it and applying the log
 * from `seq + 1` on is in the same state as one that applied it all (test/unit/cluster-replica).
 * Only replicated state: nothing of this node's own connections (links, block lists, inbox
 * deliveries, rate limits), which a restoring node does not have.
 */
export interface ClusterSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  /** Stream seq of the last entry applied. */
  seq: number;
  /** That entry's `ts`: the replica's clock between entries (a read between entries decides by it). */
  ts: number;
  /** When the log's stream was made: a snapshot of another stream (remade) is not this log's. */
  streamCreated: string;
  /** The ChatState. */
  chat: ChatStateImage;
  /** Each room's sequence: [roomid, epoch, last seq given] (src/cluster/cluster-sequencer.ts). */
  sequences: Array<[string, string, number]>;
  /** Resume token hashes of sessions, [key, hash]: a drop holds the name on every replica. */
  resumeHashes: Array<[string, string]>;
}

/**
 * The snapshot of `router`'s replica now. Synchronous, and to be called between two entries
 * (never while one is applied): only there is the state one of the log's positions.
 */
export function takeSnapshot(router: Router, context: ApplyContext, replica: Replica): ClusterSnapshot {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    seq: replica.appliedSeq,
    ts: context.ts,
    streamCreated: context.streamCreated,
    chat: router.state.image(),
    sequences: clusterSequencer(router).sequences(),
    resumeHashes: router.resumeHashes(),
  };
}

/** The snapshot as stored: UTF-8 JSON. */
export function encodeSnapshot(snapshot: ClusterSnapshot): Uint8Array {
  return Buffer.from(JSON.stringify(snapshot), 'utf8');
}

/**
 * A stored snapshot, checked against the schema before anything uses it: format and version,
 * every field's type, and the state's parts agreeing with each other (checkChatStateImage).
 * Throws an Error saying what is wrong (`not JSON`, `unsupported snapshot version 2`, `bad chat.rooms[0].owner`).
 */
export function decodeSnapshot(data: Uint8Array): ClusterSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw new Error('not JSON');
  }
  const o = obj(value, 'snapshot');
  need(o.format === SNAPSHOT_FORMAT, `format (not a ${SNAPSHOT_FORMAT})`);
  if (o.version !== SNAPSHOT_VERSION) throw new Error(`unsupported snapshot version ${JSON.stringify(o.version)} (this node reads ${SNAPSHOT_VERSION})`);
  need(Number.isSafeInteger(o.seq) && (o.seq as number) >= 0, 'seq');
  need(Number.isSafeInteger(o.ts) && (o.ts as number) >= 0, 'ts');
  need(typeof o.streamCreated === 'string' && o.streamCreated.length > 0, 'streamCreated');
  checkChatStateImage(o.chat);
  const rooms = new Set<string>();
  arr(o.sequences, 'sequences').forEach((e, i) => {
    need(Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && !rooms.has(e[0]) && typeof e[1] === 'string' && Number.isSafeInteger(e[2]) && e[2] >= 0, `sequences[${i}]`);
    rooms.add((e as string[])[0]!);
  });
  const sessions = new Set(o.chat.sessions.map((s) => s.key));
  arr(o.resumeHashes, 'resumeHashes').forEach((e, i) => {
    need(Array.isArray(e) && e.length === 2 && sessions.has(e[0]) && typeof e[1] === 'string' && /^[0-9a-f]{64}$/.test(e[1]), `resumeHashes[${i}]`);
  });
  return o as unknown as ClusterSnapshot;
}

/**
 * Puts `snapshot` into a new replica (nothing applied yet, no session): its state, sequences,
 * resume hashes, clock and position. The log is then read from `snapshot.seq + 1`. Throws when
 * the replica has applied entries already or the snapshot is of another stream.
 */
export function restoreSnapshot(snapshot: ClusterSnapshot, router: Router, context: ApplyContext, replica: Replica): void {
  if (replica.appliedSeq !== 0) throw new Error('a snapshot is restored only into a replica that has applied nothing');
  if (context.streamCreated !== '' && context.streamCreated !== snapshot.streamCreated) {
    throw new Error(`the snapshot is of a log made at ${snapshot.streamCreated}, not of this one (made at ${context.streamCreated})`);
  }
  router.state.loadImage(snapshot.chat);
  clusterSequencer(router).loadSequences(snapshot.sequences);
  router.loadResumeHashes(snapshot.resumeHashes);
  context.streamCreated = snapshot.streamCreated;
  context.seq = snapshot.seq;
  context.ts = snapshot.ts;
  replica.appliedSeq = snapshot.seq;
}

function clusterSequencer(router: Router): ClusterSequencer {
  if (!(router.sequencer instanceof ClusterSequencer)) throw new Error('snapshots are of cluster replicas (a ClusterSequencer)');
  return router.sequencer;
}
