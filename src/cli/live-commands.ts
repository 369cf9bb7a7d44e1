import { parseArgs } from 'node:util';
import type { SettingChange } from '../config/reload';
import type { ReloadReport } from '../supervisor/reload-settings';
import { ControlRefused, askServer } from './control-client';
import { parseFlags } from './status-command';

const ADMIN_USAGE = 'usage: switchboard admin notice TEXT... | disconnect USER [REASON...] | close-room ROOM  [--data-dir DIR] [--json]';
const RELOAD_USAGE = 'usage: switchboard reload [--data-dir DIR] [--json]';

/** Exit code of a refusal by the server (the request was understood and not done). */
const REFUSED = 1;

/**
 * `switchboard admin notice|disconnect|close-room`: an administrator's request made by the
 * operator on the running server, through its control socket (the same effect as the protocol
 * requests `notice`, `disconnect` and `delete` of an administrator).
 */
export async function runLiveAdmin(action: string, argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${ADMIN_USAGE}`);
  }
  const { values, positionals: words } = parsed;
  let request;
  if (action === 'notice' && words.length > 0) request = { op: 'notice', text: words.join(' ') };
  else if (action === 'disconnect' && words.length > 0) request = words.length > 1 ? { op: 'disconnect', user: words[0]!, reason: words.slice(1).join(' ') } : { op: 'disconnect', user: words[0]! };
  else if (action === 'close-room' && words.length === 1) request = { op: 'close-room', room: words[0]! };
  else throw new Error(ADMIN_USAGE);
  try {
    const result = (await askServer(values['data-dir'] ?? './data', request)) as Record<string, unknown>;
    if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
    else if (action === 'notice') process.stderr.write(`notice sent to ${String(result.clients)} connected client(s)\n`);
    else if (action === 'disconnect') process.stderr.write(`${String(result.disconnected)} disconnected\n`);
    else process.stderr.write(`room ${String(result.closed)} closed; ${String(result.moved)} member(s) moved to MainHall\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ControlRefused)) throw err;
    process.stderr.write(`switchboard admin ${action}: ${err.code}: ${err.message}\n`);
    return REFUSED;
  }
}

/**
 * `switchboard reload`: the running server reads its configuration again (as SIGHUP does) and
 * this prints what changed, what waits for a restart, or why the file was refused.
 */
export async function runReload(argv: string[]): Promise<number> {
  const values = parseFlags(argv, RELOAD_USAGE);
  let report: ReloadReport;
  try {
    report = (await askServer(values['data-dir'] ?? './data', { op: 'reload' })) as ReloadReport;
  } catch (err) {
    if (!(err instanceof ControlRefused)) throw err;
    process.stderr.write(`switchboard reload: ${err.code}: ${err.message}\n`);
    return REFUSED;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const show = (c: SettingChange): string => `${c.flag} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`;
  const out: string[] = [];
  if (report.applied.length === 0 && report.ignored.length === 0) out.push('no setting changed');
  for (const c of report.applied) out.push(`applied: ${show(c)}`);
  for (const c of report.ignored) out.push(`needs a restart: ${c.flag} (kept ${JSON.stringify(c.from)}; the configuration says ${JSON.stringify(c.to)})`);
  if (report.tls) out.push(report.tls.reloaded ? 'TLS certificate reloaded' : `TLS certificate NOT reloaded (the previous one stays): ${report.tls.error ?? ''}`);
  process.stdout.write(out.join('\n') + '\n');
  return report.tls && !report.tls.reloaded ? REFUSED : 0;
}
