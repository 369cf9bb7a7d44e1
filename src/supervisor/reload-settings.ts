import type { Logger } from 'pino';
import { ConfigError, loadConfig, type LoadInput } from '../config/load';
import { planReload, type ReloadPlan, type SettingChange } from '../config/reload';
import type { Config } from '../config/schema';
import { ControlCode, ControlError } from '../ipc/control-protocol';

/** The reply to `reload` (`switchboard reload` prints it). */
export interface ReloadReport {
  /** Live settings whose new value is in force now. */
  applied: SettingChange[];
  /** Settings whose new value needs a restart: the one in force was kept. */
  ignored: SettingChange[];
  /** The TLS certificate pair read again: null when TLS is off; `error` when the new pair was refused (the old one stays). */
  tls: { reloaded: boolean; error?: string } | null;
}

/**
 * Reads the configuration again the way the server was started (the same flags, environment
 * and working directory, so a relative --config or --data-dir means what it meant then; the
 * config file's new contents are the change) and compares it with the one in force. Restart-only
 * changes are logged by name (`reload: --port needs a restart; kept 4444`). An invalid file
 * changes nothing: logged, and thrown as CONFIG_INVALID with the loader's reason.
 */
export function readReload(input: LoadInput, current: Config, log: Logger): ReloadPlan {
  let next: Config;
  try {
    next = loadConfig({ ...input, nodeId: current.nodeId ?? undefined });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error({ reason: err.message }, 'reload: the configuration is invalid; nothing changed');
    throw new ControlError(ControlCode.CONFIG_INVALID, `${err.message}; nothing changed`);
  }
  const plan = planReload(current, next);
  for (const c of plan.ignored) log.warn({ setting: c.key, kept: c.from, wanted: c.to }, `reload: ${c.flag} needs a restart; kept ${JSON.stringify(c.from)}`);
  if (plan.applied.length > 0) {
    log.info({ applied: Object.fromEntries(plan.applied.map((c) => [c.key, c.to])) }, `reload: applied ${plan.applied.map((c) => c.flag).join(', ')}`);
  } else {
    log.info('reload: no setting changed');
  }
  return plan;
}
