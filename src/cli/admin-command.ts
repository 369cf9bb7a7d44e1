import { parseArgs } from 'node:util';
import { StoreError } from '../store/errors';
import { STORE_OPTIONS, openStoreOf } from './store-option';

const USAGE =
  'usage: switchboard admin grant|revoke USERNAME [--data-dir DIR | --store URL] | switchboard admin list [--data-dir DIR | --store URL] | switchboard admin notice|disconnect|close-room ... [--data-dir DIR]';

/**
 * `switchboard admin grant|revoke|list`: the server administrators kept in the store (beside
 * those of the `admins` setting). Works while the server runs; a change applies from the
 * account's next login.
 */
export async function runAdmin(argv: string[]): Promise<number> {
  // These act on the running server, through its control socket, not on the store.
  if (['notice', 'disconnect', 'close-room'].includes(argv[0] ?? '')) return (await import('./live-commands')).runLiveAdmin(argv[0]!, argv.slice(1));
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: STORE_OPTIONS });
  const [action, username, ...extra] = positionals;
  const needsName = action === 'grant' || action === 'revoke';
  if (!action || !['grant', 'revoke', 'list'].includes(action) || (needsName ? !username || extra.length > 0 : username !== undefined)) {
    throw new Error(USAGE);
  }
  const store = openStoreOf(values);
  try {
    await store.migrate();
    // Usernames are case-insensitive: `ALICE` names the account stored as `alice`.
    const name = needsName ? ((await store.getAccount(username!))?.username ?? username!) : '';
    switch (action) {
      case 'grant':
        try {
          await store.grantAdmin(name, Date.now());
        } catch (err) {
          if (err instanceof StoreError && err.code === 'STORE_UNKNOWN_ACCOUNT') throw new Error(`no account ${username}: register it first`);
          throw err;
        }
        process.stderr.write(`${name} is an administrator (from their next login)\n`);
        return 0;
      case 'revoke':
        if (!(await store.getAccount(name))) throw new Error(`no account ${username}`);
        if (!(await store.revokeAdmin(name))) {
          process.stderr.write(`${username} was not an administrator in the store (the admins setting is separate)\n`);
          return 1;
        }
        process.stderr.write(`${name} is no longer an administrator (from their next login)\n`);
        return 0;
      default:
        for (const name of await store.listAdmins()) process.stdout.write(`${name}\n`);
        return 0;
    }
  } finally {
    await store.close();
  }
}
