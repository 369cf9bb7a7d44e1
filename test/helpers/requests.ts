import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { TestClient, type ConnectOptions, type Msg } from './client';
import { within } from './wait';

/** Request/reply helpers for tests that speak the protocol as a client would. */

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
export const PASSWORD = 'correct horse';

export interface Conn {
  c: TestClient;
  /** The identity as last known to the test. */
  id: string;
}

export interface Account extends Conn {
  username: string;
  token: string;
}


/** Checks the named fields only: messages may carry more. */
export function expectFields(m: Msg, expected: Record<string, unknown>, what = ''): void {
  const got = Object.fromEntries(Object.keys(expected).map((k) => [k, m[k]]));
  assert.deepEqual(got, expected, `${what}unexpected message ${JSON.stringify(m)}`);
}

/** Sends `msg`; resolves with the first later message that is an `error` or matches. */
export async function ask(c: TestClient, msg: object | string, match: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
  const earlier = new Set(c.received);
  c.send(msg);
  return c.waitFor((m) => !earlier.has(m) && (m.type === 'error' || match(m)), timeoutMs);
}

/** `msg` is answered with a message of `type` (matching `match`), not an error. */
export async function ok(c: TestClient, msg: object | string, type: string, match: (m: Msg) => boolean = () => true, timeoutMs = 5000): Promise<Msg> {
  const m = await ask(c, msg, (x) => x.type === type && match(x), timeoutMs);
  assert.equal(m.type, type, `${JSON.stringify(msg)} answered with ${JSON.stringify(m)}`);
  return m;
}

/** `msg` is answered with error `code`; `success` names the reply an accepted request would get. */
export async function refused(c: TestClient, msg: object | string, code: string, success: string[] = []): Promise<Msg> {
  const m = await ask(c, msg, (x) => success.includes(x.type));
  expectFields(m, { type: 'error', code }, `${JSON.stringify(msg)}: `);
  assert.equal(typeof m.message, 'string');
  return m;
}

/** Connects and consumes the welcome; `opts.core`: a pure seed-004 client (see TestClient). */
export async function welcomed(port: number, timeoutMs = 5000, opts: ConnectOptions = {}): Promise<Conn> {
  const c = await TestClient.connect(port, opts);
  try {
    const hello = await c.next(timeoutMs);
    assert.equal(hello.type, 'newidentity', `welcome starts with newidentity: ${JSON.stringify(hello)}`);
    await c.waitFor((m) => m.type === 'roomcontents', timeoutMs);
    return { c, id: hello.identity as string };
  } catch (err) {
    await c.close();
    throw err;
  }
}

export async function register(c: TestClient, username: string, password = PASSWORD): Promise<void> {
  const m = await ok(c, { type: 'register', username, password }, 'registered');
  expectFields(m, { username });
}

/** Logs `conn` in (password, or token when given); returns the token. */
export async function login(conn: Conn, username: string, how: { password?: string; token?: string } = { password: PASSWORD }): Promise<string> {
  const request = how.token !== undefined ? { type: 'login', token: how.token } : { type: 'login', username, password: how.password };
  const m = await ok(conn.c, request, 'loggedin');
  expectFields(m, { identity: username });
  assert.ok(typeof m.token === 'string' && m.token.length >= 16, `a token: ${JSON.stringify(m)}`);
  conn.id = username;
  return m.token as string;
}

/** Runs a `switchboard` CLI command; resolves with its exit code and output. */
export function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}


/** Sends a room message and waits for its echo to the sender. */
export async function say(conn: Conn, content: string): Promise<Msg> {
  return ok(conn.c, { type: 'message', content }, 'message', (m) => m.identity === conn.id && m.content === content);
}

/** Welcomed guests on `port()`, each closed when the test ends. */
export function guestPool(t: TestContext, port: () => number): () => Promise<Conn> {
  const open: TestClient[] = [];
  t.after(async () => {
    await Promise.all(open.map((c) => within(c.close(), 2000)));
  });
  return async (): Promise<Conn> => {
    const conn = await welcomed(port());
    open.push(conn.c);
    return conn;
  };
}

/**
 * A TCP client logged in as `username` (registered first; an account that exists already is
 * fine), and in `room` when given (created when missing): another user beside the one a test
 * drives, in the web end-to-end tests and the screenshots.
 */
export async function memberClient(port: number, username: string, room?: string): Promise<TestClient> {
  const { client } = await TestClient.welcomed(port);
  client.send({ type: 'register', username, password: PASSWORD });
  await client.waitFor((m) => m.type === 'registered' || m.type === 'error');
  client.send({ type: 'login', username, password: PASSWORD });
  await client.waitFor((m) => m.type === 'loggedin');
  if (room) {
    client.send({ type: 'createroom', roomid: room });
    await client.waitFor((m) => m.type === 'roomlist');
    client.send({ type: 'join', roomid: room });
    await client.waitFor((m) => m.type === 'roomchange' && m.roomid === room);
  }
  return client;
}
