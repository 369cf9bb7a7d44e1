import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig({ argv, env, cwd: '/srv' });

test('defaults: 127.0.0.1:4444, pool placement, ./data resolved against cwd, frozen', () => {
  const c = load([]);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4444);
  assert.equal(c.placement, 'pool');
  assert.equal(c.dataDir, '/srv/data');
  assert.equal(c.maxLineBytes, 65536);
  assert.ok(Object.isFrozen(c));
});

test('flags, environment and config file, in that order of precedence', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-config-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify({ port: 1000, workers: 3, maxClients: 50 }));
  const c = load(['--config', file, '--port', '2000', '--placement=dedicated'], { SWITCHBOARD_WORKERS: '5' });
  assert.equal(c.port, 2000);
  assert.equal(c.workers, 5);
  assert.equal(c.maxClients, 50);
  assert.equal(c.placement, 'dedicated');
  fs.rmSync(dir, { recursive: true });
});

test('unknown keys, flags and variables are errors with a clear message', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-config-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify({ prot: 1 }));
  assert.throws(() => load(['--config', file]), /unknown setting "prot"/);
  assert.throws(() => load(['--colour', 'red']), /unknown flag "--colour"/);
  assert.throws(() => load([], { SWITCHBOARD_COLOUR: 'red' }), /unknown environment variable SWITCHBOARD_COLOUR/);
  fs.rmSync(dir, { recursive: true });
});

test('bad values are errors', () => {
  assert.throws(() => load(['--port', '70000']), ConfigError);
  assert.throws(() => load(['--port', 'abc']), ConfigError);
  assert.throws(() => load(['--placement', 'random']), ConfigError);
  assert.throws(() => load(['--workers', '0']), ConfigError);
  assert.throws(() => load(['--port']), /needs a value/);
});

test('--unix-socket is resolved to an absolute path', () => {
  assert.equal(load(['--unix-socket', 'chat.sock']).unixSocket, '/srv/chat.sock');
  assert.equal(load([]).unixSocket, null);
});

test('null switches optional settings off without becoming 0 or ""; lists split on commas', () => {
  const c = load(['--port', 'null', '--unix-socket', 'chat.sock', '--admins', 'alice, bob']);
  assert.equal(c.port, null);
  assert.equal(c.tlsPort, null);
  assert.deepEqual(c.admins, ['alice', 'bob']);
  // HTTP is a listener too (on by default, for `npm start`): all five off is no listener.
  assert.throws(() => load(['--port', 'null', '--http-port', 'null']), /no listener/);
  assert.throws(() => load(['--tls-port', '5000']), /tlsPort needs tlsCert and tlsKey/);
});

test('the HTTP ports: 8080 by default, "off" (or null) switches one off, HTTPS needs the TLS pair', () => {
  const c = load([]);
  assert.equal(c.httpPort, 8080);
  assert.equal(c.httpsPort, null);
  assert.deepEqual(c.httpOrigins, []);
  assert.equal(load(['--http-port', 'off']).httpPort, null);
  assert.equal(load(['--http-port', '0']).httpPort, 0);
  assert.equal(load([], { SWITCHBOARD_HTTP_PORT: 'off' }).httpPort, null);
  assert.equal(load(['--port', 'null', '--http-port', '9000']).port, null);
  assert.deepEqual(load(['--http-origins', 'https://chat.example.com, http://localhost:5173']).httpOrigins, ['https://chat.example.com', 'http://localhost:5173']);
  assert.throws(() => load(['--https-port', '8443']), /httpsPort needs tlsCert and tlsKey/);
  // "off" is a port's word only: a path setting takes it as a name.
  assert.equal(load(['--web-root', 'off']).webRoot, '/srv/off');
});

test('a 0 in the config file stays 0 (any free port), null stays null', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cfg-')), 'c.json');
  fs.writeFileSync(file, JSON.stringify({ port: null, tlsPort: 0, tlsCert: 'c.pem', tlsKey: 'k.pem' }));
  const c = load(['--config', file]);
  assert.equal(c.port, null);
  assert.equal(c.tlsPort, 0);
  assert.equal(c.tlsCert, '/srv/c.pem');
  fs.writeFileSync(file, JSON.stringify({ port: 0 }));
  assert.equal(load(['--config', file]).port, 0);
  fs.rmSync(path.dirname(file), { recursive: true });
});
