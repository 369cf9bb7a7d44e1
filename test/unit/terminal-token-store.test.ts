import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  defaultConfigDir,
  fileTokenStore,
  parseTokenFile,
  TOKEN_FILE_NAME,
  withLogin,
} from '../../src/client/terminal/token-store';

test('the config directory: $XDG_CONFIG_HOME/switchboard, else ~/.config/switchboard', () => {
  assert.equal(defaultConfigDir({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u'), '/x/cfg/switchboard');
  assert.equal(defaultConfigDir({}, '/home/u'), '/home/u/.config/switchboard');
  assert.equal(defaultConfigDir({ XDG_CONFIG_HOME: '' }, '/home/u'), '/home/u/.config/switchboard');
  // a relative XDG_CONFIG_HOME is invalid by the spec, and ignored
  assert.equal(defaultConfigDir({ XDG_CONFIG_HOME: 'rel' }, '/home/u'), '/home/u/.config/switchboard');
});

test('the file is read leniently and updated per server', () => {
  assert.deepEqual(parseTokenFile('not json'), {});
  assert.deepEqual(parseTokenFile('[1]'), {});
  assert.deepEqual(
    parseTokenFile('{"a:1":{"username":"alice","token":"t1","extra":1},"b:2":{"username":"bob"},"c:3":7}'),
    { 'a:1': { username: 'alice', token: 't1' } },
  );
  const one = withLogin({}, 'a:1', { username: 'alice', token: 't1' });
  const two = withLogin(one, 'b:2', { username: 'bob', token: 't2' });
  assert.deepEqual(two, { 'a:1': { username: 'alice', token: 't1' }, 'b:2': { username: 'bob', token: 't2' } });
  assert.deepEqual(withLogin(two, 'a:1', null), { 'b:2': { username: 'bob', token: 't2' } });
  assert.deepEqual(one, { 'a:1': { username: 'alice', token: 't1' } }, 'not modified in place');
});

test('saved logins: file mode 0600 in a directory of mode 0700, removed on request', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-tokens-'));
  const previousUmask = process.umask(0o022);
  try {
    const dir = path.join(root, 'nested', 'switchboard');
    const here = fileTokenStore(dir, '127.0.0.1:4444');
    const there = fileTokenStore(dir, '[::1]:5000');
    assert.equal(here.load(), null, 'no file yet');
    here.remove(); // nothing to remove: no file is created
    assert.equal(fs.existsSync(dir), false);

    here.save({ username: 'alice', token: 'tok-1' });
    there.save({ username: 'bob', token: 'tok-2' });
    const file = path.join(dir, TOKEN_FILE_NAME);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(here.load(), { username: 'alice', token: 'tok-1' });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {
      '127.0.0.1:4444': { username: 'alice', token: 'tok-1' },
      '[::1]:5000': { username: 'bob', token: 'tok-2' },
    });
    assert.deepEqual(fs.readdirSync(dir), [TOKEN_FILE_NAME], 'no temporary file left');

    // a file made readable by others is put back to 0600 on the next write
    fs.chmodSync(file, 0o644);
    here.save({ username: 'alice', token: 'tok-3' });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    here.remove();
    assert.equal(here.load(), null);
    assert.deepEqual(there.load(), { username: 'bob', token: 'tok-2' });

    fs.writeFileSync(file, '{broken');
    assert.equal(there.load(), null, 'a corrupt file reads as empty');
    here.save({ username: 'alice', token: 'tok-4' });
    assert.deepEqual(here.load(), { username: 'alice', token: 'tok-4' });
  } finally {
    process.umask(previousUmask);
    fs.rmSync(root, { recursive: true, force: true });
  }
});
