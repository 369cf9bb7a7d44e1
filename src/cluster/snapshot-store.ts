import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import type { ClusterLog } from './cluster-log';

/** The key-value bucket of snapshots (file storage, replicated like the log). */
export const SNAPSHOTS_BUCKET = 'SWITCHBOARD_SNAPSHOTS';
/** Bytes of one stored chunk at most: below NATS's default 1 MB message size, headers included. */
const CHUNK_BYTES = 256 * 1024;

/** A stored snapshot's manifest: written last, so a snapshot with one is complete. */
interface Manifest {
  seq: number;
  bytes: number;
  chunks: number;
  /** SHA-256 of the whole snapshot, hex: a torn or mixed set of chunks is refused. */
  sha256: string;
}

/**
 * Snapshots in a JetStream key-value bucket, under names that include the log seq:
 * `snap.<stream>.<seq>.c.<i>` for the chunks and `snap.<stream>.<seq>.m` for the manifest
 * (`<stream>`: 12 hex digits of the log stream's creation time, so a remade stream never takes
 * an old stream's snapshot; `<seq>` zero-padded to 15 digits). A state of any size is cut in
 * chunks of 256 KiB (a KV value is one NATS message; the client's object store package, which
 * does the same, is not a dependency here). Writes are idempotent: the same seq has the same
 * content on every node (src/cluster/snapshot.ts), a present manifest is not written again, and
 * two nodes writing one at once write the same bytes.
 */
export class SnapshotStore {
  private readonly prefix: string;

  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    streamCreated: string,
  ) {
    this.prefix = `snap.${createHash('sha256').update(streamCreated).digest('hex').slice(0, 12)}`;
  }

  /** Opens the bucket (made on first use, `replicas` as the log's) for the log's stream made at `streamCreated`. */
  static async open(log: ClusterLog, streamCreated: string, replicas: number): Promise<SnapshotStore> {
    const kv = await new Kvm(jetstream(log.nc)).create(SNAPSHOTS_BUCKET, { history: 1, replicas });
    return new SnapshotStore(kv, await jetstreamManager(log.nc), streamCreated);
  }

  /** Seqs of this stream's complete snapshots, newest first. */
  async seqs(): Promise<number[]> {
    const seqs: number[] = [];
    for await (const key of await this.kv.keys(`${this.prefix}.*.m`)) seqs.push(Number(key.split('.')[2]));
    return seqs.filter(Number.isSafeInteger).sort((a, b) => b - a);
  }

  /** True when the snapshot at `seq` is stored (its manifest is). */
  async has(seq: number): Promise<boolean> {
    const e = await this.kv.get(this.key(seq, 'm'));
    return e !== null && e.operation === 'PUT';
  }

  /**
   * The snapshot at `seq`, whole and checked against its manifest. Rejects saying why it cannot
   * be read (missing, a chunk gone, a length or checksum that does not match).
   */
  async read(seq: number): Promise<Uint8Array> {
    const m = await this.kv.get(this.key(seq, 'm'));
    if (m === null || m.operation !== 'PUT') throw new Error(`no snapshot at seq ${seq}`);
    const manifest = JSON.parse(m.string()) as Manifest;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < manifest.chunks; i++) {
      const c = await this.kv.get(this.key(seq, `c.${i}`));
      if (c === null || c.operation !== 'PUT') throw new Error(`snapshot at seq ${seq}: chunk ${i} of ${manifest.chunks} is missing`);
      parts.push(c.value);
    }
    const data = Buffer.concat(parts);
    if (data.length !== manifest.bytes || createHash('sha256').update(data).digest('hex') !== manifest.sha256) {
      throw new Error(`snapshot at seq ${seq}: its chunks do not match its manifest`);
    }
    return data;
  }

  /** Stores the snapshot at `seq` unless stored already: chunks first, the manifest last. */
  async write(seq: number, data: Uint8Array): Promise<boolean> {
    if (await this.has(seq)) return false;
    const chunks = Math.max(1, Math.ceil(data.length / CHUNK_BYTES));
    for (let i = 0; i < chunks; i++) await this.kv.put(this.key(seq, `c.${i}`), data.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
    const manifest: Manifest = { seq, bytes: data.length, chunks, sha256: createHash('sha256').update(data).digest('hex') };
    await this.kv.put(this.key(seq, 'm'), JSON.stringify(manifest));
    return true;
  }

  /**
   * Keeps the newest `keep` snapshots of this stream and removes the rest, and every snapshot
   * of another (remade) stream: their keys' messages are purged from the bucket's stream, so
   * nothing, not even a delete marker, is left of them.
   */
  async prune(keep: number): Promise<void> {
    for (const seq of (await this.seqs()).slice(keep)) await this.purge(`${this.prefix}.${pad(seq)}.>`);
    const stale = new Set<string>();
    for await (const key of await this.kv.keys('snap.*.*.m')) if (!key.startsWith(`${this.prefix}.`)) stale.add(key.split('.').slice(0, 2).join('.'));
    for (const prefix of stale) await this.purge(`${prefix}.>`);
  }

  private async purge(keyFilter: string): Promise<void> {
    await this.jsm.streams.purge(`KV_${SNAPSHOTS_BUCKET}`, { filter: `$KV.${SNAPSHOTS_BUCKET}.${keyFilter}` });
  }

  private key(seq: number, part: string): string {
    return `${this.prefix}.${pad(seq)}.${part}`;
  }
}

function pad(seq: number): string {
  return String(seq).padStart(15, '0');
}
