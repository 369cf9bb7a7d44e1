import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors';
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
