import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineCoreProtocolSuite } from '../helpers/core-protocol-suite';
import { startServer, type RunningServer } from '../helpers/server';

/**
 * The core protocol suite (test/helpers/core-protocol-suite.ts) against one server, in both
 * placements; test/integration/cluster-protocol.test.ts runs it against a cluster.
 */

const placements = [
  { placement: 'pool', args: ['--placement', 'pool', '--workers', '2'] },
  { placement: 'dedicated', args: ['--placement', 'dedicated', '--spares', '2'] },
] as const;

for (const { placement, args } of placements) {
  let server: RunningServer | undefined;
  const unixPath = path.join(os.tmpdir(), `sb-proto-${process.pid}-${placement}.sock`);
  defineCoreProtocolSuite({
    name: `core protocol (${placement} placement)`,
    cluster: false,
    missing: () => null,
    async start(extra) {
      const running = await startServer({ args: [...args, ...extra, '--unix-socket', unixPath] });
      server = running;
      return { next: () => running.port, unixPath, single: { server: running, placement, args: [...args] } };
    },
    async stop() {
      await server?.stop();
      fs.rmSync(unixPath, { force: true });
    },
  });
}
