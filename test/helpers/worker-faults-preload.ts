/**
 * Test-only fault injection into the real server's worker processes, loaded with
 * `NODE_OPTIONS=--require <this file>` (see worker-faults.ts): nothing in src/ knows about it.
 * In a worker process starting while the control file named by SB_TEST_WORKER_FAULTS says
 * `{"crashAtStart": true}`, it exits with code 1 before the worker's code runs: a worker
 * crash-looping on broken code, as after a bad deploy. Other processes are left alone.
 */
import fs from 'node:fs';

const control = process.env.SB_TEST_WORKER_FAULTS;
const isWorker = /[\\/]worker[\\/]main\.js$/.test(process.argv[1] ?? '');

if (control && isWorker && crashAtStart(control)) {
  process.stderr.write('worker-faults-preload: injected crash at start\n');
  process.exit(1);
}

function crashAtStart(file: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { crashAtStart?: boolean }).crashAtStart === true;
  } catch {
    return false;
  }
}
