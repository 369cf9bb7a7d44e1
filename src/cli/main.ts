import { describeFlags } from '../config/load';

const USAGE = `Usage:
  switchboard serve [flags]                 start the chat server
  switchboard serve --daemon --pid-file FILE --log-file FILE [flags]
                                            as a daemon: detached, in its own session; exits
                                            once the server serves (--pid-file also works alone)
  switchboard connect HOST[:PORT] [--tls [--ca FILE] [--insecure]] [--log FILE] [--no-reconnect] ...
  switchboard connect --unix PATH [...]     the terminal client (connect --help: all options)
  switchboard export --data-dir DIR --room ROOM [--epoch E] [--format text|json]
                                            a room's transcript on stdout
  switchboard backup --data-dir DIR --out FILE
                                            consistent online backup (server may run)
  switchboard restore --data-dir DIR --from FILE
                                            put a backup in place (server stopped)
  switchboard admin grant|revoke USERNAME --data-dir DIR
  switchboard admin list --data-dir DIR     server administrators kept in the store (server may
                                            run; applies from the account's next login)
  export, backup and admin take --store postgres://USER@HOST:PORT/DB instead of --data-dir
  for a PostgreSQL store (back it up with pg_dump, restore with pg_restore or psql)
  switchboard status [--data-dir DIR] [--json]
                                            the running server: processes (pid, uptime,
                                            clients, RSS, CPU), listeners, rooms, clients, rates
  switchboard admin notice TEXT | disconnect USER [REASON] | close-room ROOM [--data-dir DIR]
                                            act on the running server as an administrator
  switchboard reload [--data-dir DIR]       re-read the config file (as SIGHUP): live settings
                                            apply at once; prints applied / needs-a-restart
  switchboard cert --out DIR [--days N] [--host NAME...]
                                            self-signed development TLS pair:
                                            DIR/cert.pem, DIR/key.pem (needs openssl)
  switchboard help                          this text

serve flags (each also a key of the --config JSON file and an environment variable):
  --config FILE (SWITCHBOARD_CONFIG): JSON file of settings
`;

/** The `switchboard` command: dispatches to a subcommand and sets the exit code. */
export function main(argv: string[]): void {
  const [command, ...rest] = argv;
  run(command, rest).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`switchboard: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}

async function run(command: string | undefined, rest: string[]): Promise<number> {
  switch (command) {
    case 'serve':
      return (await import('./serve-command')).runServeCommand(rest);
    case 'export':
      return (await import('./data-commands')).runExport(rest);
    case 'backup':
      return (await import('./data-commands')).runBackup(rest);
    case 'restore':
      return (await import('./data-commands')).runRestore(rest);
    case 'admin':
      return (await import('./admin-command')).runAdmin(rest);
    case 'status':
      return (await import('./status-command')).runStatus(rest);
    case 'reload':
      return (await import('./live-commands')).runReload(rest);
    case 'cert':
      return (await import('./cert-command')).runCert(rest);
    case 'connect': {
      const { runConnect } = await import('../client/terminal');
      return runConnect(rest);
    }
    case 'help':
    case '--help':
    case '-h':
    case undefined:
      process.stdout.write(USAGE + describeFlags().join('\n') + '\n');
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`switchboard: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
