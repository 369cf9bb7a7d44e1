/**
 * Test-only fault injection into the real server's store, loaded into the server's processes
 * with `NODE_OPTIONS=--require <this file>` (see store-faults.ts): nothing in src/ knows about
 * it, so no switch ships to production. In the hub process it wraps every method of the
 * SqliteStore prototype (the Store interface): before each call it reads the control file named by
 * SB_TEST_STORE_FAULTS and, when the method is listed under "fail", rejects with the
 * StoreError a failing disk gives (STORE_UNAVAILABLE) instead of calling the real store.
 */
import fs from 'node:fs';
import path from 'node:path';

const control = process.env.SB_TEST_STORE_FAULTS;
const isHub = /[\\/]hub[\\/]main\.js$/.test(process.argv[1] ?? '');

if (control && isHub) {
  // The same resolved paths as the hub's own imports, so the hub gets the patched class.
  const src = path.join(__dirname, '..', '..', 'src', 'store');
  const { SqliteStore } = require(path.join(src, 'sqlite-store.js')) as typeof import('../../src/store/sqlite-store');
  const { StoreError } = require(path.join(src, 'errors.js')) as typeof import('../../src/store/errors');
  const proto = SqliteStore.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const original = proto[name];
    // The Store methods are the async ones (the class's own helpers are not).
    if (name === 'migrate' || name === 'close' || typeof original !== 'function' || original.constructor.name !== 'AsyncFunction') continue;
    proto[name] = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      if (failing(control).has(name)) throw new StoreError('STORE_UNAVAILABLE', `injected failure of ${name}`);
      return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    };
  }
}

function failing(file: string): Set<string> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { fail?: string[] };
    return new Set(parsed.fail ?? []);
  } catch {
    return new Set();
  }
}
