import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors';
import { acceptedCodings, etagMatches } from '../../src/worker/content-coding';
import { originAllowed } from '../../src/worker/http-gateway';
import { safeRelativePath } from '../../src/worker/static-route';
import { CloseCode, closeCodeFor, closeReason } from '../../src/worker/websocket-transport';

const req = (headers: Record<string, string>): http.IncomingMessage => ({ headers }) as unknown as http.IncomingMessage;

test('origin rule: same host by default, the list when given, * for any, no Origin allowed', () => {
  assert.equal(originAllowed(req({ host: '127.0.0.1:8080' }), []), true, 'not a browser');
  assert.equal(originAllowed(req({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }), []), true);
  assert.equal(originAllowed(req({ host: 'Chat.Example.com', origin: 'https://chat.example.com' }), []), true, 'case-insensitive');
  assert.equal(originAllowed(req({ host: 'chat.example.com:443', origin: 'https://chat.example.com' }), []), true, 'default port');
  assert.equal(originAllowed(req({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8081' }), []), false, 'another port');
  assert.equal(originAllowed(req({ host: '127.0.0.1:8080', origin: 'http://evil.example' }), []), false);
  assert.equal(originAllowed(req({ host: '127.0.0.1:8080', origin: 'null' }), []), false, 'opaque origin');
  assert.equal(originAllowed(req({ host: '127.0.0.1:8080', origin: 'file://127.0.0.1:8080' }), []), false);
  assert.equal(originAllowed(req({ origin: 'http://127.0.0.1:8080' }), []), false, 'no Host to compare with');
  const list = ['https://chat.example.com', 'http://localhost:5173/'];
  assert.equal(originAllowed(req({ host: 'x', origin: 'https://chat.example.com' }), list), true);
  assert.equal(originAllowed(req({ host: 'x', origin: 'http://localhost:5173' }), list), true, 'a trailing slash in the list is ignored');
  assert.equal(originAllowed(req({ host: 'chat.example.com', origin: 'http://chat.example.com' }), list), false, 'the list replaces the same-host rule');
  assert.equal(originAllowed(req({ host: 'x', origin: 'http://anything' }), ['*']), true);
});

test('static paths: / is index.html; nothing that decodes to a step out, a dot file or a separator', () => {
  assert.equal(safeRelativePath('/'), 'index.html');
  assert.equal(safeRelativePath('/assets/app-1a2b.js'), 'assets/app-1a2b.js');
  assert.equal(safeRelativePath('/assets/a%20b.png'), 'assets/a b.png');
  for (const bad of ['/..', '/%2e%2e/x', '/assets/%2E%2E/x', '/a%2fb', '/a%5cb', '/.env', '/assets/.x', '/a//b', '/a/', '/%00', '/%zz', '/a%00.js']) {
    assert.equal(safeRelativePath(bad), null, bad);
  }
});

test('Accept-Encoding: br before gzip at equal weight, the client\'s weights first, q=0 refuses, * for the rest, none is identity', () => {
  assert.deepEqual(acceptedCodings(undefined), []);
  assert.deepEqual(acceptedCodings(''), []);
  assert.deepEqual(acceptedCodings('identity'), []);
  assert.deepEqual(acceptedCodings('gzip, deflate, br, zstd'), ['br', 'gzip']);
  assert.deepEqual(acceptedCodings('GZIP'), ['gzip'], 'names are case-insensitive');
  assert.deepEqual(acceptedCodings('x-gzip'), ['gzip']);
  assert.deepEqual(acceptedCodings('br;q=0, gzip'), ['gzip']);
  assert.deepEqual(acceptedCodings('br; q=0.000, gzip;q=0'), []);
  assert.deepEqual(acceptedCodings('gzip;q=1.0, br;q=0.5'), ['gzip', 'br'], 'the client\'s weight comes first');
  assert.deepEqual(acceptedCodings('*'), ['br', 'gzip']);
  assert.deepEqual(acceptedCodings('*;q=0.5, br;q=0'), ['gzip'], '* covers only the codings not named');
  assert.deepEqual(acceptedCodings('br;q=2, gzip;q=abc'), [], 'an unreadable weight counts for nothing');
  assert.deepEqual(acceptedCodings('br, br;q=0'), [], 'named twice: the refusal stands');
});

test('If-None-Match: weak comparison, any tag of a list, or *', () => {
  assert.equal(etagMatches(undefined, 'W/"a-1"'), false);
  assert.equal(etagMatches('W/"a-1"', 'W/"a-1"'), true);
  assert.equal(etagMatches('"a-1"', 'W/"a-1"'), true);
  assert.equal(etagMatches('W/"a-1-gz", W/"a-1-br"', 'W/"a-1-br"'), true);
  assert.equal(etagMatches('W/"a-1-gz"', 'W/"a-1-br"'), false, 'another encoding\'s tag');
  assert.equal(etagMatches('W/"a-1-gz"', 'W/"a-1"'), false);
  assert.equal(etagMatches('*', 'W/"a-1"'), true);
});

test('close codes and reasons: 1001 for a stop, 1003 binary, 1009 too big, 1008 for the limits; reasons fit 123 bytes', () => {
  assert.equal(closeCodeFor(ErrorCode.SHUTTING_DOWN), CloseCode.GOING_AWAY);
  assert.equal(closeCodeFor(ErrorCode.BINARY_FRAME), 1003);
  assert.equal(closeCodeFor(ErrorCode.LINE_TOO_LONG), 1009);
  for (const code of [ErrorCode.SLOW_CONSUMER, ErrorCode.FLOODING, ErrorCode.IDLE_TIMEOUT, ErrorCode.FIRST_MESSAGE_TIMEOUT]) assert.equal(closeCodeFor(code), 1008);
  assert.equal(closeReason(ErrorCode.FLOODING, 'too many'), 'FLOODING: too many');
  const long = closeReason(ErrorCode.SLOW_CONSUMER, 'é'.repeat(200));
  assert.ok(Buffer.byteLength(long) <= 123);
  assert.ok(!long.includes('\uFFFD'), 'cut on a character boundary');
});
