import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';

/**
 * The benchmark cannot rot: `bench smoke` drives a few seconds of fanout through Switchboard
 * and the Socket.IO baseline and exits 0 only if traffic flowed through both. No timing is
 * asserted (CI machines are shared); the run is bounded by the timeout below.
 */
const MAIN = path.resolve(__dirname, '..', '..', 'bench', 'main.js');

test('bench smoke: traffic flows through Switchboard and the baseline', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, [MAIN, 'smoke'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const killer = setTimeout(() => child.kill('SIGTERM'), 80_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(killer);
  assert.equal(code, 0, output);
  assert.match(output, /smoke: traffic flowed through both servers/);
  assert.match(output, /\| deliveries\/s \| [\d,]+ \| [\d,]+ \|/);
});
