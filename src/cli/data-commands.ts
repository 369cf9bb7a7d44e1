import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hubSocketPath } from '../ipc/paths';
import { storeKind } from '../store';
import { restoreBackup } from '../store/sqlite-backup';
import type { RoomMessage, Store } from '../store/store';
import { answers } from '../supervisor/data-dir';
import { STORE_OPTIONS, openStoreOf } from './store-option';

/**
 * The operator's data commands: export a room's transcript, take an online backup, restore one.
 * Each opens the store directly (`--data-dir` for SQLite, `--store URL` for PostgreSQL); backup
 * and export work while the server runs.
 */

const EXPORT_PAGE = 1000;

/**
 * `switchboard export [--data-dir D | --store URL] --room R [--epoch E] [--format text|json]`:
 * the room's history on stdout, of one epoch. One node's store holds one epoch per room (its
 * messages unlabelled, their epoch named in `room_epochs`). A cluster's store holds each message
 * under its epoch and no current epoch (that is the log's): its current epoch is the newest
 * stored one, and an ended epoch's messages are there only while a node running behind writes
 * them again (docs/CLUSTER.md). So: the newest epoch (by its newest message), or `--epoch E`;
 * when the room has messages under several, stderr names the others.
 */
export async function runExport(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...STORE_OPTIONS, room: { type: 'string' }, epoch: { type: 'string' }, format: { type: 'string', default: 'text' } } });
  if (!values.room) throw new Error('export needs --room ROOM');
  if (values.format !== 'text' && values.format !== 'json') throw new Error('--format is text or json');
  const store = openStoreOf(values);
  const out = process.stdout;
  const json = values.format === 'json';
  let first = true;
  try {
    const room = values.room;
    const chosen = await chooseEpoch(store, room, values.epoch);
    if (json) out.write('[');
    let after = 0;
    for (;;) {
      const page = await store.roomSince(room, after, EXPORT_PAGE, chosen.stored === '' ? undefined : chosen.stored);
      for (const m of page) {
        out.write(json ? `${first ? '\n' : ',\n'}${JSON.stringify({ ...m, epoch: chosen.name })}` : transcriptLine(m));
        first = false;
      }
      if (page.length < EXPORT_PAGE) break;
      after = page[page.length - 1]!.seq;
    }
  } finally {
    await store.close();
  }
  if (json) out.write(first ? ']\n' : '\n]\n');
  return 0;
}

/**
 * The epoch of `room` to export: `stored` its label in the store ('' for unlabelled), `name`
 * the epoch as clients know it. Throws for a room the store never heard of (a typo, not an
 * empty transcript) and for an `--epoch` it holds no messages under.
 */
async function chooseEpoch(store: Store, room: string, wanted: string | undefined): Promise<{ stored: string; name: string }> {
  const current = (await store.roomEpochs()).get(room);
  // One node's unlabelled messages are of the epoch room_epochs names.
  const epochs = (await store.storedEpochs(room)).map((e) => ({ ...e, stored: e.epoch, name: e.epoch === '' ? (current ?? '') : e.epoch }));
  const described = (list: typeof epochs): string => list.map((e) => `${e.name || '(unnamed)'} (${e.messages} messages)`).join(', ');
  if (wanted !== undefined) {
    const match = epochs.find((e) => e.name === wanted);
    if (!match) throw new Error(`no messages of room ${room} under epoch ${wanted} in the store (${epochs.length > 0 ? `its epochs: ${described(epochs)}` : 'it has none'})`);
    return match;
  }
  if (epochs.length === 0) {
    if (current === undefined && !(await store.listRooms()).some((r) => r.roomid === room)) throw new Error(`no room ${room} in the store (no stored messages)`);
    return { stored: '', name: current ?? '' };
  }
  const newest = epochs[epochs.length - 1]!;
  if (epochs.length > 1) {
    process.stderr.write(`room ${room} has messages under ${epochs.length} epochs; exporting the newest, ${described([newest])}; the others: ${described(epochs.slice(0, -1))} (--epoch E exports one)\n`);
  }
  return newest;
}

function transcriptLine(m: RoomMessage): string {
  const when = new Date(m.ts).toISOString().replace('T', ' ').slice(0, 19);
  return `[${when}] #${m.seq} ${m.identity}: ${m.recalled ? '(recalled)' : m.content}\n`;
}

/**
 * `switchboard backup --data-dir D --out FILE`: a consistent copy, taken while the server runs.
 * A PostgreSQL store (`--store URL`) refuses: it is backed up with pg_dump (the message says so).
 */
export async function runBackup(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...STORE_OPTIONS, out: { type: 'string' } } });
  if (!values.out) throw new Error('backup needs --out FILE');
  const out = path.resolve(values.out);
  if (fs.existsSync(out)) throw new Error(`${out} exists; choose a new file`);
  const store = openStoreOf(values);
  try {
    await store.backup(out);
  } finally {
    await store.close();
  }
  process.stderr.write(`backup written to ${out}\n`);
  return 0;
}

/**
 * `switchboard restore --data-dir D --from FILE`: puts a backup in place; the server must be
 * stopped. SQLite only: a PostgreSQL store is restored with PostgreSQL's tools.
 */
export async function runRestore(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...STORE_OPTIONS, from: { type: 'string' } } });
  if (values.store !== undefined && storeKind(values.store) === 'postgres') {
    throw new Error('restore puts a SQLite backup file in place in --data-dir; a PostgreSQL store is restored with pg_restore or psql from a pg_dump (see README, "PostgreSQL")');
  }
  if (!values.from) throw new Error('restore needs --from FILE');
  const dataDir = path.resolve(values['data-dir'] ?? './data');
  if (await answers(hubSocketPath(dataDir))) throw new Error(`a server is running on ${dataDir}; stop it before restoring`);
  await restoreBackup(path.resolve(values.from), dataDir);
  process.stderr.write(`restored ${values.from} into ${dataDir}\n`);
  return 0;
}
