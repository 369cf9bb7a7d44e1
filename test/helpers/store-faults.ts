import fs from 'node:fs';
import path from 'node:path';
import { preloadEnv } from './preload-env';

/**
 * The test's side of store fault injection (store-faults-preload.ts): the environment that
 * loads the preload into a server started with startServer({ env }), and the switch that
 * makes chosen Store methods fail in its hub from now on.
 *
 * @example
 * const faults = new StoreFaults(dir);
 * const server = await startServer({ env: faults.env() });
 * faults.fail('appendRoomMessages');   // every room batch fails until...
 * faults.clear();
 */
export class StoreFaults {
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'store-faults.json');
    this.clear();
  }

  /** NODE_OPTIONS (kept) plus the preload, and where its control file is. */
  env(): NodeJS.ProcessEnv {
    return preloadEnv('store-faults', 'SB_TEST_STORE_FAULTS', this.file);
  }

  /** Makes these Store methods fail (and no others) until the next call. */
  fail(...methods: string[]): void {
    fs.writeFileSync(this.file, JSON.stringify({ fail: methods }));
  }

  clear(): void {
    this.fail();
  }
}
