import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { expectation, shown, type SettingSchema } from '../../src/config/describe';
import { ConfigError, describeFlags, loadConfig } from '../../src/config/load';
import { ConfigSchema } from '../../src/config/schema';

/**
 * Every setting, from every source, with every kind of bad value its schema allows: the error
 * names the setting as the user wrote it, says in one sentence what is accepted, and shows
 * what was given. Derived from the schema, so a new setting is covered without a new test;
 * a schema keyword this file cannot make a bad value for fails the test.
 */

type Schema = SettingSchema & { default?: unknown };
const settings = Object.entries(ConfigSchema.properties as unknown as Record<string, Schema>);
const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const envName = (key: string): string => 'SWITCHBOARD_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
// Listeners are needed only for a valid config; a bad value must be reported whatever else is set.
const load = (argv: string[], env: NodeJS.ProcessEnv = {}): unknown => loadConfig({ argv, env, cwd: '/srv' });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-config-errors-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
function configFile(content: object): string {
  const file = path.join(dir, `c${files++}.json`);
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

/** The schema's alternatives: a union's branches, or the schema itself. */
const branches = (s: Schema): Schema[] => s.anyOf ?? [s];

/** Values from a flag or variable (strings) that no branch of `s` accepts. */
function badTexts(s: Schema): string[] {
  const out = new Set<string>();
  const nullable = branches(s).some((b) => b.type === 'null');
  for (const b of branches(s)) {
    const known = new Set(['type', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'pattern', 'items', 'default', 'description', 'reload']);
    for (const k of Object.keys(b)) assert.ok(known.has(k), `no bad-value generator for schema keyword "${k}": teach this test`);
    if (b.type === 'integer' || b.type === 'number') {
      out.add('abc');
      if (b.type === 'integer') out.add('1.5');
      if (b.minimum !== undefined) out.add(String(b.minimum - 1));
      if (b.exclusiveMinimum !== undefined) out.add(String(b.exclusiveMinimum));
      if (b.maximum !== undefined) out.add(String(b.maximum + 1));
    }
    if (b.const !== undefined) out.add('nosuch');
    if (b.pattern !== undefined) for (const v of ['nosuch', 'a b']) if (!new RegExp(b.pattern).test(v)) out.add(v);
    // An empty flag means null: a bad value for a string that cannot be switched off.
    if (b.type === 'string' && b.minLength && !nullable) out.add('');
  }
  return [...out];
}

/** Values in a JSON file (typed) that no branch of `s` accepts. */
function badJson(s: Schema): unknown[] {
  const out: unknown[] = badTexts(s).filter((t) => t !== '');
  const types = new Set(branches(s).map((b) => b.type ?? typeof b.const));
  // A value of a type none of the branches has: a JSON file is taken as written.
  if (!types.has('boolean')) out.push(true);
  if (!types.has('string')) out.push('5');
  if (!types.has('integer') && !types.has('number')) out.push(5);
  if (!types.has('array')) out.push([]);
  if (!types.has('null')) out.push(null);
  for (const b of branches(s)) {
    if (b.type === 'string' && b.minLength) out.push('');
    if (b.type === 'array') out.push([1]);
  }
  return out;
}

function assertExplained(fn: () => unknown, name: string, schema: Schema, given: unknown): void {
  const sentence = `${name}: expected ${expectation(schema)}, got ${shown(given)}`;
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof ConfigError, `${name} = ${shown(given)}: ${err.message}`);
    assert.ok(err.message.includes(sentence), `${name} = ${shown(given)}:\n  got:      ${err.message}\n  expected: ${sentence}`);
    assert.doesNotMatch(err.message, /\bmust\b|anyOf|schema/, 'no validator jargon');
    return true;
  });
}

test('every setting names what it accepts in plain words', () => {
  for (const [key, schema] of settings) {
    const words = expectation(schema);
    assert.match(words, /^(an? |one of |"|null)/, `${key}: ${words}`);
    assert.ok(describeFlags().some((line) => line.startsWith(`  --${kebab(key)} `) && line.includes(`[${words}]`)), `help for ${key}`);
  }
  assert.equal(expectation(ConfigSchema.properties.port as unknown as Schema), 'an integer from 0 to 65535 or null');
});

test('a bad flag value: one sentence naming the flag, what it accepts and what was given', () => {
  for (const [key, schema] of settings) {
    for (const bad of badTexts(schema)) {
      assertExplained(() => load([`--${kebab(key)}`, bad]), `--${kebab(key)}`, schema, bad);
      assertExplained(() => load([`--${kebab(key)}=${bad}`]), `--${kebab(key)}`, schema, bad);
    }
  }
});

test('a bad environment value: the same, naming the variable', () => {
  for (const [key, schema] of settings) {
    for (const bad of badTexts(schema)) assertExplained(() => load([], { [envName(key)]: bad }), envName(key), schema, bad);
  }
});

test('a bad value in the config file: the same, naming the key and the file; JSON types are not coerced', () => {
  for (const [key, schema] of settings) {
    for (const bad of badJson(schema)) {
      const file = configFile({ [key]: bad });
      assertExplained(() => load(['--config', file]), `"${key}" in ${file}`, schema, bad);
    }
  }
});

test('several bad values: each gets its sentence', () => {
  assert.throws(
    () => load(['--port', 'abc', '--placement', 'random'], { SWITCHBOARD_WORKERS: '0' }),
    {
      message:
        'invalid configuration: --port: expected an integer from 0 to 65535 or null, got "abc"; ' +
        'SWITCHBOARD_WORKERS: expected an integer from 1 to 256, got "0"; --placement: expected "pool" or "dedicated", got "random"',
    },
  );
});

test('every default is a good value from every source', () => {
  for (const [key, schema] of settings) {
    const text = schema.default === null ? 'null' : Array.isArray(schema.default) ? schema.default.join(',') : String(schema.default);
    const listener = key === 'port' ? ['--unix-socket', 'x.sock'] : [];
    assert.doesNotThrow(() => load([`--${kebab(key)}`, text, ...listener]), key);
    assert.doesNotThrow(() => load(listener, { [envName(key)]: text }), key);
    assert.doesNotThrow(() => load(['--config', configFile({ [key]: schema.default }), ...listener]), key);
  }
});

test('an unknown name from any source says so and suggests the nearest setting', () => {
  assert.throws(() => load(['--prot', '1']), { message: 'invalid configuration: unknown flag "--prot" (did you mean --port? switchboard help lists every setting)' });
  assert.throws(() => load([], { SWITCHBOARD_WORKRES: '2' }), { message: 'invalid configuration: unknown environment variable SWITCHBOARD_WORKRES (did you mean SWITCHBOARD_WORKERS? switchboard help lists every setting)' });
  const file = configFile({ maxclients: 5 });
  assert.throws(() => load(['--config', file]), { message: `invalid configuration: unknown setting "maxclients" in config file ${file} (did you mean "maxClients"? switchboard help lists every setting)` });
  assert.throws(() => load(['--zzzzzz', '1']), { message: 'invalid configuration: unknown flag "--zzzzzz" (switchboard help lists every setting)' });
  assert.throws(() => load(['--workers']), { message: 'invalid configuration: flag "--workers" needs a value: an integer from 1 to 256' });
});

test('every problem at once: unknown names beside bad values, from every source, in one error', () => {
  const file = configFile({ maxclients: 5, workers: 0, nosuch: 1, placement: 'random' });
  assert.throws(() => load(['--config', file, '--prot', '1', '--port', 'abc', 'stray'], { SWITCHBOARD_WORKRES: '2', SWITCHBOARD_RATE_LIMIT: 'fast' }), {
    message:
      'invalid configuration: ' +
      [
        'unknown flag "--prot" (did you mean --port? switchboard help lists every setting)',
        'unexpected argument "stray": settings are flags (--name value or --name=value; switchboard help lists them)',
        `unknown setting "maxclients" in config file ${file} (did you mean "maxClients"? switchboard help lists every setting)`,
        `unknown setting "nosuch" in config file ${file} (switchboard help lists every setting)`,
        'unknown environment variable SWITCHBOARD_WORKRES (did you mean SWITCHBOARD_WORKERS? switchboard help lists every setting)',
        '--port: expected an integer from 0 to 65535 or null, got "abc"',
        `"workers" in ${file}: expected an integer from 1 to 256, got 0`,
        `"placement" in ${file}: expected "pool" or "dedicated", got "random"`,
        `SWITCHBOARD_RATE_LIMIT: expected ${expectation(ConfigSchema.properties.rateLimit as unknown as Schema)}, got "fast"`,
      ].join('; '),
  });
});

test('the rules between settings: all broken ones at once, beside unknown names', () => {
  const file = configFile({ tlsCrt: 'cert.pem', httpsPort: 8443 });
  assert.throws(() => load(['--config', file, '--tls-port', '4443']), {
    message:
      `invalid configuration: unknown setting "tlsCrt" in config file ${file} (did you mean "tlsCert"? switchboard help lists every setting); ` +
      'tlsPort needs tlsCert and tlsKey; httpsPort needs tlsCert and tlsKey',
  });
  const unreadable = path.join(dir, 'missing.json');
  assert.throws(() => load(['--config', unreadable, '--port', 'null', '--http-port', 'null']), (err: Error) => {
    assert.match(err.message, /^invalid configuration: cannot read config file .*missing\.json: ENOENT.*; no listener \(/);
    return true;
  });
});
