import { POSTGRES_URL_PATTERN } from '../config/schema';
import { ensurePrivateDir } from '../fs/private-files';
import { redactUrl } from './postgres-connection';
import { PostgresStore } from './postgres-store';
import { sqliteStorePath } from './sqlite-connection';
import { SqliteStore } from './sqlite-store';
import type { Store } from './store';

/** The Store implementations a server can be configured with. */
export type StoreKind = 'sqlite' | 'postgres';

/**
 * Which implementation a `store` setting names (config/schema.ts: `sqlite`, or a
 * `postgres://` / `postgresql://` URL); a clear Error for anything else.
 */
export function storeKind(setting: string): StoreKind {
  if (setting === 'sqlite') return 'sqlite';
  if (new RegExp(POSTGRES_URL_PATTERN).test(setting)) return 'postgres';
  throw new Error(`store: expected "sqlite" or a postgres://USER@HOST:PORT/DB URL, got ${JSON.stringify(redactUrl(setting))}`);
}

/**
 * The one place a Store implementation is chosen, from the `store` setting. The store is
 * opened but not migrated: the caller runs `migrate()` once at boot (the hub), before any
 * other method. `dataDir` is used by SQLite only.
 *
 * @example
 * const store = createStore('sqlite', config.dataDir); // <dataDir>/switchboard.db
 * const shared = createStore('postgres://switchboard@db:5432/switchboard', config.dataDir);
 * await store.migrate();
 */
export function createStore(setting: string, dataDir: string): Store {
  const kind = storeKind(setting);
  switch (kind) {
    case 'sqlite':
      ensurePrivateDir(dataDir);
      return new SqliteStore(sqliteStorePath(dataDir));
    case 'postgres':
      return new PostgresStore(setting);
    default:
      return unknownKind(kind);
  }
}

/** Compile-time exhaustiveness; at run time a config that slipped past validation. */
function unknownKind(kind: never): never {
  throw new Error(`unknown store kind: ${String(kind)}`);
}
