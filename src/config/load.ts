import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { parseClusterServers } from '../cluster/servers';
import { closest, expectation, shown, type SettingSchema } from './describe';
import { ConfigError } from './errors';
import { reloadabilityOf } from './reload';
import { ConfigSchema, type Config, type ConfigKey } from './schema';

export { ConfigError };

/**
 * Builds the one Config of a server run: defaults < config file < environment < flags.
 * Validated once against the schema (unknown keys are errors), paths made absolute, frozen.
 * Every problem is reported at once, in one ConfigError: a first one must not hide the others,
 * or fixing a file takes as many starts as it has mistakes.
 */

const ENV_PREFIX = 'SWITCHBOARD_';
const keys = Object.keys(ConfigSchema.properties) as ConfigKey[];

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const upperSnake = (key: string): string => ENV_PREFIX + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

const flagToKey = new Map(keys.map((k) => [kebab(k), k]));
const envToKey = new Map(keys.map((k) => [upperSnake(k), k]));

/**
 * One validator pair per setting. Flags and variables are strings, so their values are
 * coerced ("5000" is 5000); a JSON file has types of its own and is taken as written (a
 * `"workers": true` is an error, not 1). Per setting, so each bad value gets its own sentence.
 */
const coercing = new Ajv({ coerceTypes: true, strict: false });
const strict = new Ajv({ strict: false });
const propertySchemas = ConfigSchema.properties as unknown as Record<ConfigKey, SettingSchema & { default?: unknown }>;
// Ajv coerces only inside objects (a scalar is passed by value): each setting is wrapped as {v}.
const wrap = (schema: SettingSchema): object => ({ type: 'object', properties: { v: schema }, required: ['v'] });
const validators = new Map(keys.map((k) => [k, { coercing: coercing.compile(wrap(propertySchemas[k])), strict: strict.compile(wrap(propertySchemas[k])) }]));

export interface LoadInput {
  /** Flags after the subcommand, e.g. ['--port', '0']. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The node id to keep when none is set (a reload: the running server's), instead of a new random one. */
  nodeId?: string;
}

/** Where a setting's value came from, named as the user wrote it (`--port`, `SWITCHBOARD_PORT`). */
interface Given {
  value: unknown;
  /** Flags and variables give strings; a file gives JSON values. */
  text: boolean;
  name: string;
}

/**
 * The Config from flags, variables and the config file. Throws ConfigError naming every problem
 * (unknown names, unreadable file, bad values), `; `-separated after `invalid configuration: `;
 * the rules between settings (a listener, TLS files, cluster) are judged once each value is good.
 */
export function loadConfig({ argv, env, cwd, nodeId }: LoadInput): Config {
  const problems: string[] = [];
  const { settings: fromFlags, configFile: configFlag } = parseFlags(argv, problems);
  const configFile = configFlag ?? env[ENV_PREFIX + 'CONFIG'];
  const fromFile = configFile ? readConfigFile(path.resolve(cwd, configFile), problems) : new Map<ConfigKey, Given>();
  const given = new Map([...fromFile, ...readEnv(env, problems), ...fromFlags]);
  const merged: Record<string, unknown> = {};
  let badValue = false;
  for (const key of keys) {
    const g = given.get(key);
    if (!g) {
      merged[key] = structuredClone(propertySchemas[key].default);
      continue;
    }
    const holder = { v: g.text ? fromText(key, g.value as string) : g.value };
    if (validators.get(key)![g.text ? 'coercing' : 'strict'](holder)) merged[key] = holder.v;
    else {
      problems.push(`${g.name}: expected ${expectation(propertySchemas[key])}, got ${shown(g.value)}`);
      badValue = true;
    }
  }
  // Judged once every value given is good: a bad one has no value to combine with the others.
  if (!badValue) problems.push(...combinationProblems(merged));
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  const config = merged as Record<ConfigKey, unknown>;
  // Fixed here, once: the supervisor hands this config to its children, so all of them agree.
  config.nodeId ??= nodeId ?? defaultNodeId();
  config.dataDir = path.resolve(cwd, config.dataDir as string);
  for (const key of ['tlsCert', 'tlsKey', 'webRoot'] as const) if (config[key]) config[key] = path.resolve(cwd, config[key] as string);
  if (config.unixSocket) config.unixSocket = path.resolve(cwd, config.unixSocket as string);
  return Object.freeze(config) as unknown as Config;
}

/** What is wrong with the settings together (each alone is valid): every rule broken, in order. */
function combinationProblems(merged: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (merged.port === null && merged.tlsPort === null && !merged.unixSocket && merged.httpPort === null && merged.httpsPort === null) {
    problems.push('no listener (port, tlsPort, unixSocket, httpPort and httpsPort are all off)');
  }
  if (merged.tlsPort !== null && (!merged.tlsCert || !merged.tlsKey)) problems.push('tlsPort needs tlsCert and tlsKey');
  if (merged.httpsPort !== null && (!merged.tlsCert || !merged.tlsKey)) problems.push('httpsPort needs tlsCert and tlsKey');
  if (merged.cluster) {
    try {
      parseClusterServers(merged.cluster as string);
    } catch (err) {
      problems.push(`cluster: ${(err as Error).message} (expected nats://H1:P1,nats://H2:P2,...)`);
    }
    // The nodes share one store of record (accounts, rooms, history): a file in one node's data
    // dir cannot be it (docs/CLUSTER.md, "PostgreSQL in a cluster").
    if (merged.store === 'sqlite') {
      problems.push('cluster needs store set to a postgres://USER@HOST:PORT/DB URL, the database every node of the cluster shares, not "sqlite" (one node\'s file)');
    }
    // A snapshot must be stored before the log discards the entries it covers (docs/CLUSTER.md, "Snapshots").
    if ((merged.clusterSnapshotEvery as number) * 2 > (merged.clusterLogMaxMessages as number)) {
      problems.push(`clusterSnapshotEvery (${merged.clusterSnapshotEvery}) must be at most half of clusterLogMaxMessages (${merged.clusterLogMaxMessages}): the log would discard entries no snapshot covers`);
    }
    if ((merged.clusterSnapshotIntervalMs as number) * 2 > (merged.clusterLogMaxAgeMs as number)) {
      problems.push(`clusterSnapshotIntervalMs (${merged.clusterSnapshotIntervalMs}) must be at most half of clusterLogMaxAgeMs (${merged.clusterLogMaxAgeMs}): the log would discard entries no snapshot covers`);
    }
  }
  return problems;
}

/**
 * The host name (characters outside [A-Za-z0-9_-] made '-', at most 57 of them) and 6 random
 * hex digits: a new node id at each start, so a restarted server never takes its former
 * self's sessions for its own (docs/CLUSTER.md, "Node ids").
 */
function defaultNodeId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 57) || 'node';
  return `${host}-${randomBytes(3).toString('hex')}`;
}

/**
 * A flag's or variable's string as a value: "null" (or nothing) switches a setting off, and so
 * does "off" for a port; a list is comma-separated.
 */
function fromText(key: ConfigKey, text: string): unknown {
  if (text === 'null' || text === '') return isList(key) ? [] : null;
  if (text === 'off' && isOptionalPort(key)) return null;
  return isList(key) ? text.split(',').map((x) => x.trim()).filter(Boolean) : text;
}

/** A port that can be switched off (`--http-port off`): a nullable integer setting named *Port. */
function isOptionalPort(key: string): boolean {
  const branches = (ConfigSchema.properties as Record<string, { anyOf?: Array<{ type?: string }> }>)[key]?.anyOf;
  return key.endsWith('Port') && branches !== undefined && branches.some((b) => b.type === 'null') && branches.some((b) => b.type === 'integer');
}

function isList(key: string): boolean {
  return (ConfigSchema.properties as Record<string, { type?: string }>)[key]?.type === 'array';
}

/** The settings given as flags, and the `--config` file if one is named; what is wrong, pushed to `problems`. */
function parseFlags(argv: string[], problems: string[]): { settings: Map<ConfigKey, Given>; configFile?: string } {
  const settings = new Map<ConfigKey, Given>();
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}": settings are flags (--name value or --name=value; switchboard help lists them)`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const key = flagToKey.get(name);
    // The value is taken even after an unknown flag, so that it is not read as an argument.
    const value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (!key && name !== 'config') problems.push(`unknown flag "--${name}"${suggest(name, [...flagToKey.keys(), 'config'], (n) => `--${n}`)}`);
    else if (value === undefined) problems.push(`flag "--${name}" needs a value: ${key ? expectation(propertySchemas[key]) : 'the path of a JSON file'}`);
    else if (key) settings.set(key, { value, text: true, name: `--${name}` });
    else configFile = value;
  }
  return { settings, configFile };
}

function readEnv(env: NodeJS.ProcessEnv, problems: string[]): Map<ConfigKey, Given> {
  const out = new Map<ConfigKey, Given>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === ENV_PREFIX + 'CONFIG' || value === undefined) continue;
    const key = envToKey.get(name);
    if (!key) problems.push(`unknown environment variable ${name}${suggest(name, [...envToKey.keys(), ENV_PREFIX + 'CONFIG'], (n) => n)}`);
    else out.set(key, { value, text: true, name });
  }
  return out;
}

/** The settings in a JSON config file; what is wrong (unreadable, not an object, unknown keys), pushed to `problems`. */
function readConfigFile(file: string, problems: string[]): Map<ConfigKey, Given> {
  const out = new Map<ConfigKey, Given>();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`cannot read config file ${file}: ${(err as Error).message}`);
    return out;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    problems.push(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    return out;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`config file ${file} must hold a JSON object of settings`);
    return out;
  }
  for (const [name, v] of Object.entries(value)) {
    if (!keys.includes(name as ConfigKey)) problems.push(`unknown setting "${name}" in config file ${file}${suggest(name, keys, (n) => `"${n}"`)}`);
    else out.set(name as ConfigKey, { value: v, text: false, name: `"${name}" in ${file}` });
  }
  return out;
}

/** The tail of an unknown-name error: the likely intended name, and where all are listed. */
function suggest(name: string, names: string[], show: (n: string) => string): string {
  const near = closest(name, names);
  return near ? ` (did you mean ${show(near)}? switchboard help lists every setting)` : ' (switchboard help lists every setting)';
}

/**
 * Lines for `switchboard help`: every flag with its default, meaning, accepted values and
 * whether a reload (SIGHUP, `switchboard reload`) applies it live or it needs a restart.
 */
export function describeFlags(): string[] {
  return keys.map((k) => {
    const s = ConfigSchema.properties[k] as { default?: unknown; description?: string };
    return `  --${kebab(k)} (${upperSnake(k)}, default ${JSON.stringify(s.default)}): ${s.description ?? ''} [${expectation(s as SettingSchema)}] (${reloadabilityOf(k) === 'live' ? 'reload: live' : 'reload: restart'})`;
  });
}
