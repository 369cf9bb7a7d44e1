import path from 'node:path';

/** The package's command (bin/switchboard.js), from dist/src/cli/ where this file runs. */
const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');

/**
 * How the user who started this process runs the `switchboard` command: `./bin/switchboard.js`
 * from the checkout (the README's form), the absolute path from elsewhere. Not `npx switchboard`:
 * npx does not find a package's own bin in its checkout, so it installs and builds a copy of
 * the package first (a silent minute; found by a new user following the README).
 */
export function commandName(cwd = process.cwd()): string {
  const relative = path.relative(cwd, BIN);
  return relative.startsWith('..') || path.isAbsolute(relative) ? BIN : `./${relative}`;
}
