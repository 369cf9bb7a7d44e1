import path from 'node:path';

/** Where the hub listens for its workers: inside the data dir, so two servers never share one. */
export function hubSocketPath(dataDir: string): string {
  return path.join(dataDir, 'run', 'hub.sock');
}

/** Linux caps a Unix socket path at 107 bytes (sun_path is 108 with its NUL). */
export const MAX_UNIX_PATH_BYTES = 107;

/**
 * The supervisor's control socket (`switchboard status`, `admin`, `reload`): beside the hub's,
 * in the data dir's run/ (0700), itself 0600: only the server's owner may use it.
 */
export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, 'run', 'control.sock');
}
