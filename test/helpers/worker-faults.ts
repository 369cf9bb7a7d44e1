import fs from 'node:fs';
import path from 'node:path';
import { preloadEnv } from './preload-env';

/**
 * The test's side of worker fault injection (worker-faults-preload.ts): the environment that
 * loads the preload into a server started with startServer({ env }), and the switches that make
 * every worker started from now on crash at start, or every worker die as it is handed a client.
 *
 * @example
 * const faults = new WorkerFaults(dir);
 * const server = await startServer({ env: faults.env() });
 * faults.crashAtStart();   // replacements die before they are ready, until...
 * faults.clear();
 */
export class WorkerFaults {
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'worker-faults.json');
    this.clear();
  }

  /** NODE_OPTIONS (kept) plus the preload, and where its control file is. */
  env(): NodeJS.ProcessEnv {
    return preloadEnv('worker-faults', 'SB_TEST_WORKER_FAULTS', this.file);
  }

  /** Workers started from now on exit with code 1 before they are ready. */
  crashAtStart(): void {
    fs.writeFileSync(this.file, JSON.stringify({ crashAtStart: true }));
  }

  /** Every worker, running or started from now on, exits with code 1 as it is handed a client, before confirming it. */
  dieOnClient(): void {
    fs.writeFileSync(this.file, JSON.stringify({ dieOnClient: true }));
  }

  clear(): void {
    fs.writeFileSync(this.file, JSON.stringify({}));
  }
}
