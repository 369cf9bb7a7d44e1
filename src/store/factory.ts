import { ensurePrivateDir } from '../fs/private-files';
import { sqliteStorePath } from './sqlite-connection';
import { SqliteStore } from './sqlite-store';
import type { Store } from './store';

/** The Store implementations a server can be configured with. PostgreSQL comes next. */
export type StoreKind = 'sqlite';

/**
 * The one place a Store implementation is chosen. The store is opened but not migrated:
 * the caller runs `migrate()` once at boot (the hub), before any other method.
 *
 * @example
 * const store = createStore('sqlite', config.dataDir); // <dataDir>/switchboard.db
 * await store.migrate();
 */
export function createStore(kind: StoreKind, dataDir: string): Store {
  switch (kind) {
    case 'sqlite':
      ensurePrivateDir(dataDir);
      return new SqliteStore(sqliteStorePath(dataDir));
    default:
      return unknownKind(kind);
  }
}

/** Compile-time exhaustiveness; at run time a config that slipped past validation. */
function unknownKind(kind: never): never {
  throw new Error(`unknown store kind: ${String(kind)}`);
}
