import { ConfigError } from './errors';
import type { Config } from './schema';

/**
 * Children get the supervisor's validated, frozen config in this variable, so nothing below
 * a main.ts reads the environment, and a child does not pay for loading the schema validator.
 */
export const CHILD_CONFIG_ENV = 'SB_CHILD_CONFIG';

export function configFromParent(env: NodeJS.ProcessEnv): Config {
  const text = env[CHILD_CONFIG_ENV];
  if (!text) throw new ConfigError(`${CHILD_CONFIG_ENV} is not set: this process is started by the supervisor`);
  return Object.freeze(JSON.parse(text)) as Config;
}
