import { ConfigSchema, type Config, type ConfigKey } from './schema';

/**
 * Which settings a reload (SIGHUP, `switchboard reload`) may change in a running server, read
 * off the schema's `reload` annotation: `live` ones apply to the running sessions at once, any
 * other needs a restart and keeps its value until then.
 *
 * Restart-only are the listeners (host, ports, Unix socket), the data dir and store, the
 * process model (placement, workers, spares), the cluster settings, and the limits decided by
 * the replicated chat state (maxRoomsPerOwner, reconnectGraceMs, maxHeldNames): every replica
 * of a cluster must decide with the same values, which one node's reload cannot promise.
 */
export type Reloadability = 'live' | 'restart';

export function reloadabilityOf(key: ConfigKey): Reloadability {
  return (ConfigSchema.properties[key] as { reload?: string }).reload === 'live' ? 'live' : 'restart';
}

/** One setting whose value in the file differs from the one in force. */
export interface SettingChange {
  key: ConfigKey;
  /** As an operator writes it on the command line, e.g. `--rate-limit`. */
  flag: string;
  /** In force before the reload. */
  from: unknown;
  /** Read from the configuration now. */
  to: unknown;
}

/** What a reload does: the configuration to run with, and the changes it takes and leaves. */
export interface ReloadPlan {
  /** The configuration in force before, with the live changes made. */
  config: Config;
  /** Live settings that change now. */
  applied: SettingChange[];
  /** Restart-only settings whose new value waits for a restart (the one in force is kept). */
  ignored: SettingChange[];
}

/** Compares the configuration read now with the one in force. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const config: Record<string, unknown> = { ...current };
  const applied: SettingChange[] = [];
  const ignored: SettingChange[] = [];
  for (const key of Object.keys(ConfigSchema.properties) as ConfigKey[]) {
    if (JSON.stringify(current[key]) === JSON.stringify(next[key])) continue;
    const change = { key, flag: `--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`, from: current[key], to: next[key] };
    if (reloadabilityOf(key) === 'live') {
      config[key] = next[key];
      applied.push(change);
    } else {
      ignored.push(change);
    }
  }
  return { config: Object.freeze(config) as unknown as Config, applied, ignored };
}
