/**
 * Saved logins: `tokens.json` in the user's config directory maps each server (as named on the
 * command line, e.g. `127.0.0.1:4444`) to the account logged in there and its login token.
 * The token is a password in all but name, so the file is the user's alone (mode 0600, in a
 * directory of mode 0700) and is replaced atomically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One saved login. */
export interface SavedLogin {
  username: string;
  token: string;
}

/** Saved logins by server. */
export type TokenFile = Record<string, SavedLogin>;

/** The saved login of one server: what a session reads and writes. */
export interface TokenStore {
  load(): SavedLogin | null;
  save(login: SavedLogin): void;
  remove(): void;
}

/** A store that keeps nothing (no config directory). */
export const noTokenStore: TokenStore = { load: () => null, save: () => undefined, remove: () => undefined };

export const TOKEN_FILE_NAME = 'tokens.json';

/**
 * The client's config directory: `$XDG_CONFIG_HOME/switchboard`, else
 * `~/.config/switchboard`.
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative value is invalid and is to be ignored.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.config');
  return path.join(base, 'switchboard');
}

function isSavedLogin(v: unknown): v is SavedLogin {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.username === 'string' && typeof o.token === 'string' && o.token !== '';
}

/** Reads the file's text; entries that are not saved logins, or a file that is not JSON, are ignored. */
export function parseTokenFile(text: string): TokenFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  const out: TokenFile = {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return out;
  for (const [server, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (isSavedLogin(entry)) out[server] = { username: entry.username, token: entry.token };
  }
  return out;
}

/** The file with `server`'s login set to `login`, or removed when `login` is null. */
export function withLogin(file: TokenFile, server: string, login: SavedLogin | null): TokenFile {
  const out: TokenFile = {};
  for (const [key, value] of Object.entries(file)) if (key !== server) out[key] = value;
  if (login) out[server] = { username: login.username, token: login.token };
  return out;
}

function readTokenFile(file: string): TokenFile {
  try {
    return parseTokenFile(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

/** Writes `content` to `file` with mode 0600 through a temporary file and a rename. */
function writePrivate(file: string, content: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // the umask may have taken bits from the mode above, never added
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}

/**
 * The saved login of `server` in `configDir/tokens.json`. Reads are tolerant (no file: no
 * login); writes throw the file system's error, for the caller to report.
 */
export function fileTokenStore(configDir: string, server: string): TokenStore {
  const file = path.join(configDir, TOKEN_FILE_NAME);
  const update = (login: SavedLogin | null): void => {
    const before = readTokenFile(file);
    if (!login && !(server in before)) return;
    writePrivate(file, JSON.stringify(withLogin(before, server, login), null, 2) + '\n');
  };
  return {
    load: () => {
      try {
        return readTokenFile(file)[server] ?? null;
      } catch {
        return null;
      }
    },
    save: (login) => update(login),
    remove: () => update(null),
  };
}
