import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensurePrivateDir } from '../fs/private-files';
import { MAX_UNIX_PATH_BYTES, hubSocketPath } from '../ipc/paths';

export class DataDirError extends Error {
  readonly code = 'DATA_DIR_UNUSABLE';
}

/**
 * Makes the data dir ready for this server (0700, created or tightened) and refuses one that
 * another live server uses (its hub socket answers). A socket file left by a killed server is
 * removed.
 */
export async function claimDataDir(dataDir: string): Promise<void> {
  // The data dir holds the store (password hashes, DMs) and run/ the hub's socket: 0700 both.
  ensurePrivateDir(dataDir);
  ensurePrivateDir(path.join(dataDir, 'run'));
  const socketPath = hubSocketPath(dataDir);
  if (Buffer.byteLength(socketPath) > MAX_UNIX_PATH_BYTES) {
    throw new DataDirError(`data dir path too long for a Unix socket (${socketPath}); use a shorter --data-dir`);
  }
  if (await answers(socketPath)) throw new DataDirError(`data dir ${dataDir} is in use by another running server`);
  fs.rmSync(socketPath, { force: true });
}

/** True when something listens on the Unix socket at `socketPath`. */
export function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!fs.existsSync(socketPath)) return resolve(false);
    const probe = net.createConnection(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
