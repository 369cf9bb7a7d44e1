import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { ConfigError } from './errors';
import { ConfigSchema, type Config, type ConfigKey } from './schema';

export { ConfigError };

/**
 * Builds the one Config of a server run: defaults < config file < environment < flags.
 * Validated once against the schema (unknown keys are errors), paths made absolute, frozen.
 */

const ENV_PREFIX = 'SWITCHBOARD_';
const keys = Object.keys(ConfigSchema.properties) as ConfigKey[];

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const upperSnake = (key: string): string => ENV_PREFIX + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

const flagToKey = new Map(keys.map((k) => [kebab(k), k]));
const envToKey = new Map(keys.map((k) => [upperSnake(k), k]));

const ajv = new Ajv({ useDefaults: true, coerceTypes: true, allErrors: true, strict: false });
const validate = ajv.compile(ConfigSchema);

export interface LoadInput {
  /** Flags after the subcommand, e.g. ['--port', '0']. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function loadConfig({ argv, env, cwd }: LoadInput): Config {
  const fromFlags = parseFlags(argv);
  const configFile = (fromFlags.config as string | undefined) ?? env[ENV_PREFIX + 'CONFIG'];
  delete fromFlags.config;
  const fromFile = configFile ? readConfigFile(path.resolve(cwd, configFile)) : {};
  const fromEnv = readEnv(env);
  const merged: Record<string, unknown> = { ...fromFile, ...fromEnv, ...fromFlags };
  // Flags and environment are strings; "null" is how they switch an optional setting off, and a
  // list is comma-separated.
  for (const [k, v] of Object.entries(merged)) {
    if (v === 'null' || v === '') merged[k] = isList(k) ? [] : null;
    else if (typeof v === 'string' && isList(k)) merged[k] = v.split(',').map((x) => x.trim()).filter(Boolean);
  }
  // Coercion turns a number 0 into null in a Null-first union; a typed 0 (the file's) means 0.
  const zeros = Object.keys(merged).filter((k) => merged[k] === 0);
  if (!validate(merged)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath.replace(/^\//, '') || (e.params as { additionalProperty?: string }).additionalProperty || '';
      return e.keyword === 'additionalProperties' ? `unknown setting "${where}"` : `${where} ${e.message}`;
    });
    throw new ConfigError(`invalid configuration: ${[...new Set(problems)].join('; ')}`);
  }
  for (const k of zeros) if (merged[k] === null) merged[k] = 0;
  if (merged.port === null && merged.tlsPort === null && !merged.unixSocket) {
    throw new ConfigError('invalid configuration: no listener (port, tlsPort and unixSocket are all off)');
  }
  if (merged.tlsPort !== null && (!merged.tlsCert || !merged.tlsKey)) {
    throw new ConfigError('invalid configuration: tlsPort needs tlsCert and tlsKey');
  }
  const config = merged as unknown as Record<ConfigKey, unknown>;
  config.dataDir = path.resolve(cwd, config.dataDir as string);
  for (const key of ['tlsCert', 'tlsKey'] as const) if (config[key]) config[key] = path.resolve(cwd, config[key] as string);
  if (config.unixSocket) config.unixSocket = path.resolve(cwd, config.unixSocket as string);
  return Object.freeze(config) as unknown as Config;
}

function isList(key: string): boolean {
  return (ConfigSchema.properties as Record<string, { type?: string }>)[key]?.type === 'array';
}

function parseFlags(argv: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const key = name === 'config' ? 'config' : flagToKey.get(name);
    if (!key) throw new ConfigError(`unknown flag "--${name}" (see switchboard help)`);
    let value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`flag "--${name}" needs a value`);
    out[key] = value;
  }
  return out;
}

function readEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === ENV_PREFIX + 'CONFIG' || value === undefined) continue;
    const key = envToKey.get(name);
    if (!key) throw new ConfigError(`unknown environment variable ${name}`);
    out[key] = value;
  }
  return out;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/** Lines for `switchboard help`: every flag with its default and meaning. */
export function describeFlags(): string[] {
  return keys.map((k) => {
    const s = ConfigSchema.properties[k] as { default?: unknown; description?: string };
    return `  --${kebab(k)} (${upperSnake(k)}, default ${JSON.stringify(s.default)}): ${s.description ?? ''}`;
  });
}
