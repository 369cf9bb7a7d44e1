/**
 * Test-only fault injection into the real server's worker processes, loaded with
 * `NODE_OPTIONS=--require <this file>` (see worker-faults.ts): nothing in src/ knows about it.
 * In a worker process, while the control file named by SB_TEST_WORKER_FAULTS says
 * - `{"crashAtStart": true}` (read at its start): it exits with code 1 before the worker's code
 *   runs, a worker crash-looping on broken code, as after a bad deploy;
 * - `{"dieOnClient": true}` (read as each client arrives): it exits with code 1 as it is handed
 *   a client socket, before the worker's own handler confirms it ('conn-taken'): a worker that
 *   becomes ready and dies as soon as it gets a client.
 * Other processes are left alone.
 */
import fs from 'node:fs';

interface Faults {
  crashAtStart?: boolean;
  dieOnClient?: boolean;
}

const control = process.env.SB_TEST_WORKER_FAULTS;
const isWorker = /[\\/]worker[\\/]main\.js$/.test(process.argv[1] ?? '');

if (control && isWorker) {
  if (faults(control).crashAtStart === true) {
    process.stderr.write('worker-faults-preload: injected crash at start\n');
    process.exit(1);
  }
  // Registered before the worker's own listener, so it runs first.
  process.on('message', (msg: { type?: string }) => {
    if (msg.type !== 'conn' || faults(control).dieOnClient !== true) return;
    process.stderr.write('worker-faults-preload: injected death on a client hand-off\n');
    process.exit(1);
  });
}

function faults(file: string): Faults {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Faults;
  } catch {
    return {};
  }
}
