import fs from 'node:fs';
import path from 'node:path';
import { createStore, storeKind, type Store } from '../store';

/**
 * The store a data command (export, backup, admin) works on, named as `serve` names it:
 * `--store sqlite` (the default: `<--data-dir>/switchboard.db`) or `--store postgres://...`.
 */

/** The parseArgs options every data command takes. */
export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  store: { type: 'string' },
} as const;

export interface StoreFlags {
  'data-dir'?: string;
  store?: string;
}

/** Opens (not migrates) the store the flags name; a clear Error for a bad or conflicting flag. */
export function openStoreOf(flags: StoreFlags): Store {
  const setting = flags.store ?? 'sqlite';
  if (storeKind(setting) === 'postgres') {
    // A PostgreSQL store is not in any data dir: accepting one would suggest it mattered.
    if (flags['data-dir'] !== undefined) throw new Error('--data-dir names a SQLite store; with --store postgres://... leave it out');
    return createStore(setting, '');
  }
  const dir = path.resolve(flags['data-dir'] ?? './data');
  if (!fs.existsSync(dir)) throw new Error(`no data dir at ${dir}`);
  return createStore(setting, dir);
}
