import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConnectArgs, parseHostPort, parseServerList } from '../../src/client/terminal/args';

test('HOST:PORT, HOST alone (port 4444) and bracketed IPv6', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseHostPort('localhost'), { host: 'localhost', port: 4444 });
  assert.deepEqual(parseHostPort('[::1]:7'), { host: '::1', port: 7 });
  assert.deepEqual(parseHostPort('::1'), { host: '::1', port: 4444 });
  assert.equal(typeof parseHostPort('host:0'), 'string');
  assert.equal(typeof parseHostPort('host:65536'), 'string');
  assert.equal(typeof parseHostPort('host:x1'), 'string');
  assert.equal(typeof parseHostPort(':4444'), 'string');
});

test('connect arguments', () => {
  assert.deepEqual(parseConnectArgs(['127.0.0.1:5000', '--log', 'a.log']), {
    kind: 'run',
    options: {
      targets: [{ kind: 'tcp', host: '127.0.0.1', port: 5000 }],
      label: '127.0.0.1:5000',
      logFile: 'a.log',
      configDir: null,
      autoLogin: true,
      reconnect: true,
      retries: null,
      retryMaxMs: null,
      timestamps: null,
      noColour: false,
      notify: null,
    },
  });
  assert.deepEqual(parseConnectArgs(['--unix=/tmp/s.sock']), {
    kind: 'run',
    options: {
      targets: [{ kind: 'unix', path: '/tmp/s.sock' }],
      label: '/tmp/s.sock',
      logFile: null,
      configDir: null,
      autoLogin: true,
      reconnect: true,
      retries: null,
      retryMaxMs: null,
      timestamps: null,
      noColour: false,
      notify: null,
    },
  });
  const v6 = parseConnectArgs(['::1']);
  assert.equal(v6.kind === 'run' && v6.options.label, '[::1]:4444');
  assert.deepEqual(parseConnectArgs(['-h']), { kind: 'help' });
  const all = parseConnectArgs(['h', '--config-dir', '/tmp/cfg', '--no-auto-login', '--no-reconnect']);
  assert.deepEqual(all.kind === 'run' && [all.options.configDir, all.options.autoLogin, all.options.reconnect], ['/tmp/cfg', false, false]);
  const bads = [[], ['a', 'b'], ['--log'], ['--unix', 'p', 'host'], ['--verbose', 'h'], ['h:99999'], ['h', '--config-dir'], ['h', '--no-reconnect=yes']];
  for (const bad of bads) {
    assert.equal(parseConnectArgs(bad).kind, 'error', bad.join(' '));
  }
});

test('connect --tls, --ca and --insecure', () => {
  const secure = parseConnectArgs(['127.0.0.1:4443', '--tls', '--ca', 'cert.pem']);
  assert.deepEqual(secure.kind === 'run' && secure.options.targets, [{ kind: 'tcp', host: '127.0.0.1', port: 4443, tls: { caFile: 'cert.pem', insecure: false } }]);
  const insecure = parseConnectArgs(['--tls', 'h', '--insecure']);
  assert.deepEqual(insecure.kind === 'run' && insecure.options.targets, [{ kind: 'tcp', host: 'h', port: 4444, tls: { caFile: null, insecure: true } }]);
  const plain = parseConnectArgs(['h:1']);
  assert.equal(plain.kind === 'run' && 'tls' in plain.options.targets[0]!, false);
  const bads = [['h', '--ca', 'c.pem'], ['h', '--insecure'], ['h', '--tls', '--ca'], ['h', '--tls', '--ca', 'c', '--insecure'], ['--unix', 'p', '--tls'], ['h', '--tls=yes']];
  for (const bad of bads) assert.equal(parseConnectArgs(bad).kind, 'error', bad.join(' '));
});

test('several servers: HOST:PORT,HOST:PORT,... in order, each checked, one label for the list', () => {
  const list = parseConnectArgs(['127.0.0.1:5000,[::1]:5001,h', '--tls', '--ca', 'c.pem']);
  assert.ok(list.kind === 'run');
  const tls = { caFile: 'c.pem', insecure: false };
  assert.deepEqual(list.options.targets, [
    { kind: 'tcp', host: '127.0.0.1', port: 5000, tls },
    { kind: 'tcp', host: '::1', port: 5001, tls },
    { kind: 'tcp', host: 'h', port: 4444, tls },
  ]);
  assert.equal(list.options.label, '127.0.0.1:5000,[::1]:5001,h:4444');
  assert.deepEqual(parseServerList('a:1,b:2'), [{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
  for (const bad of ['a:1,', ',a:1', 'a:1,,b:2', 'a:1,b:0', 'a:1,:2']) {
    const parsed = parseConnectArgs([bad]);
    assert.equal(parsed.kind, 'error', bad);
  }
  assert.match((parseConnectArgs(['a:1,b:x']) as { message: string }).message, /invalid port "x"/);
});

test('the looks and reconnection options', () => {
  const run = parseConnectArgs(['h', '--retries', '0', '--retry-max-ms=250', '--timestamps', '--no-color', '--notify', 'desktop']);
  assert.equal(run.kind, 'run');
  if (run.kind !== 'run') return;
  assert.equal(run.options.retries, 0);
  assert.equal(run.options.retryMaxMs, 250);
  assert.equal(run.options.timestamps, true);
  assert.equal(run.options.noColour, true);
  assert.equal(run.options.notify, 'desktop');
  assert.equal((parseConnectArgs(['h', '--no-timestamps']) as { options: { timestamps: boolean } }).options.timestamps, false);
  const bad: Array<[string[], RegExp]> = [
    [['h', '--retries', 'x'], /--retries takes a whole number/],
    [['h', '--retry-max-ms', '0'], /--retry-max-ms takes a whole number of milliseconds, at least 1/],
    [['h', '--notify', 'loud'], /--notify takes bell, desktop, none, not "loud"/],
    [['h', '--timestamps=yes'], /--timestamps takes no value/],
  ];
  for (const [argv, why] of bad) {
    const parsed = parseConnectArgs(argv);
    assert.equal(parsed.kind, 'error', argv.join(' '));
    assert.match(parsed.kind === 'error' ? parsed.message : '', why);
  }
});
