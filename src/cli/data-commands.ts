import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hubSocketPath } from '../ipc/paths';
import { storeKind } from '../store';
import { restoreBackup } from '../store/sqlite-backup';
import type { RoomMessage } from '../store/store';
import { answers } from '../supervisor/data-dir';
import { STORE_OPTIONS, openStoreOf } from './store-option';

/**
 * The operator's data commands: export a room's transcript, take an online backup, restore one.
 * Each opens the store directly (`--data-dir` for SQLite, `--store URL` for PostgreSQL); backup
 * and export work while the server runs.
 */

const EXPORT_PAGE = 1000;

/** `switchboard export [--data-dir D | --store URL] --room R [--format text|json]`: the room's history on stdout. */
export async function runExport(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...STORE_OPTIONS, room: { type: 'string' }, format: { type: 'string', default: 'text' } } });
  if (!values.room) throw new Error('export needs --room ROOM');
  if (values.format !== 'text' && values.format !== 'json') throw new Error('--format is text or json');
  const store = openStoreOf(values);
  const out = process.stdout;
  const json = values.format === 'json';
  let after = 0;
  let first = true;
  try {
    // A room the store never heard of is a typo, not an empty transcript. The stored messages
    // of a room are those of its current epoch only: older ones went with the room.
    const room = values.room;
    const epoch = (await store.roomEpochs()).get(room);
    if (epoch === undefined && (await store.lastRoomSeq(room)) === 0 && !(await store.listRooms()).some((r) => r.roomid === room)) {
      throw new Error(`no room ${room} in the store (no stored messages)`);
    }
    if (json) out.write('[');
    for (;;) {
      const page = await store.roomSince(values.room, after, EXPORT_PAGE);
      for (const m of page) {
        out.write(json ? `${first ? '\n' : ',\n'}${JSON.stringify({ ...m, epoch: epoch ?? "" })}` : transcriptLine(m));
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
