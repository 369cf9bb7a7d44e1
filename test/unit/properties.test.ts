import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { FrameDecoder, FrameTooLargeError, buildFrame, encodeFrame } from '../../src/ipc/frame-codec';
import { ErrorCode } from '../../src/protocol/errors';
import { LineSplitter } from '../../src/protocol/line-splitter';
import { parseClientLine, type ParseResult } from '../../src/protocol/validate';
import { missingPrerequisite } from '../helpers/prerequisite';

/**
 * Property-based tests of the three pure parsers every byte from outside goes through: the
 * client line splitter, the IPC frame decoder and the client message validator. Each property
 * is checked against a small reference model on generated inputs, split at generated points.
 *
 * A failure prints fast-check's seed and path; replay it with PROPERTY_SEED=<seed> (and
 * PROPERTY_PATH=<path>). PROPERTY_FACTOR multiplies the number of cases for a long run.
 */

const FACTOR = Number(process.env.PROPERTY_FACTOR ?? 1);
const params = <T>(runs = 300): fc.Parameters<T> => ({
  numRuns: Math.max(1, Math.round(runs * FACTOR)),
  ...(process.env.PROPERTY_SEED ? { seed: Number(process.env.PROPERTY_SEED) } : {}),
  ...(process.env.PROPERTY_PATH ? { path: process.env.PROPERTY_PATH } : {}),
});

// ---- shared arbitraries ------------------------------------------------------------------------

/** Cut points for a stream of `length` bytes: the chunk boundaries, sorted, may repeat (empty chunks). */
const cutsFor = (length: number): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 0, max: length }), { maxLength: 24 }).map((cuts) => cuts.sort((a, b) => a - b));

function chunksOf(stream: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    out.push(stream.subarray(from, cut));
    from = cut;
  }
  return out;
}

/** A stream and a way to split it. */
const splitStream = (bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<{ stream: Buffer; cuts: number[] }> =>
  bytes.chain((stream) => cutsFor(stream.length).map((cuts) => ({ stream, cuts })));

// ---- line splitter -----------------------------------------------------------------------------

/** Pieces of client input, rich in what matters to framing: LF, CR, multi-byte UTF-8, long runs. */
const linePiece: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: fc.constantFrom('\n', '\r\n', '\r', '\n\n').map((s) => Buffer.from(s)), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((s) => Buffer.from(s, 'utf8')), weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 90 }).map((n) => Buffer.alloc(n, 0x78)), weight: 1 },
);
const lineStream = fc.array(linePiece, { maxLength: 30 }).map((pieces) => Buffer.concat(pieces));

/**
 * What the splitter must do with `stream` as a whole: the lines it emits, and the stream offset
 * of the first byte past the bound of the first over-long line (null: none).
 */
function splitModel(stream: Buffer, max: number): { lines: string[]; overflowAt: number | null } {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = stream.indexOf(0x0a, start);
    const end = nl === -1 ? stream.length : nl;
    if (end - start > max) return { lines, overflowAt: start + max };
    if (nl === -1) return { lines, overflowAt: null };
    let line = stream.subarray(start, nl);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    lines.push(line.toString('utf8'));
    start = nl + 1;
  }
}

/** Feeds `chunks`; the lines emitted, the index of the first push that returned false, and the buffering seen. */
function feedSplitter(chunks: Buffer[], max: number): { lines: string[]; failedAt: number | null; maxBuffered: number; bufferedAfterFail: number[] } {
  const splitter = new LineSplitter(max);
  const lines: string[] = [];
  let failedAt: number | null = null;
  let maxBuffered = 0;
  const bufferedAfterFail: number[] = [];
  chunks.forEach((chunk, i) => {
    const ok = splitter.push(chunk, (l) => {
      if (failedAt !== null) assert.fail('a closed splitter emitted a line');
      lines.push(l);
    });
    if (!ok && failedAt === null) failedAt = i;
    if (ok && failedAt !== null) assert.fail(`push ${i} returned true after push ${failedAt} returned false`);
    maxBuffered = Math.max(maxBuffered, splitter.bufferedBytes);
    if (failedAt !== null) bufferedAfterFail.push(splitter.bufferedBytes);
  });
  return { lines, failedAt, maxBuffered, bufferedAfterFail };
}

/** The index of the chunk holding stream offset `at`. */
function chunkHolding(chunks: Buffer[], at: number): number {
  let end = 0;
  for (let i = 0; i < chunks.length; i++) {
    end += chunks[i]!.length;
    if (at < end) return i;
  }
  throw new Error(`offset ${at} is past the stream`);
}

describe('properties: line splitter', () => {
  test('any split of a stream gives the lines of the whole stream; an over-long line fails the very chunk that passes the bound', () => {
    fc.assert(
      fc.property(splitStream(lineStream), fc.integer({ min: 1, max: 80 }), ({ stream, cuts }, max) => {
        const chunks = chunksOf(stream, cuts);
        const expected = splitModel(stream, max);
        const got = feedSplitter(chunks, max);
        assert.deepEqual(got.lines, expected.lines);
        assert.equal(got.failedAt, expected.overflowAt === null ? null : chunkHolding(chunks, expected.overflowAt));
        // And the whole stream in one chunk agrees with the model too.
        const whole = feedSplitter([stream], max);
        assert.deepEqual(whole.lines, expected.lines);
        assert.equal(whole.failedAt === null, expected.overflowAt === null);
      }),
      params(),
    );
  });

  test('never holds more than the bound of an unfinished line, and nothing once closed', () => {
    fc.assert(
      fc.property(splitStream(lineStream), fc.integer({ min: 1, max: 80 }), ({ stream, cuts }, max) => {
        const got = feedSplitter(chunksOf(stream, cuts), max);
        assert.ok(got.maxBuffered <= max, `buffered ${got.maxBuffered} > bound ${max}`);
        assert.ok(got.bufferedAfterFail.every((b) => b === 0), 'a closed splitter keeps bytes');
      }),
      params(),
    );
  });

  test('a line without a newline is reported once its bytes pass the bound, however it is fed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a.map((b) => (b === 0x0a ? 0x20 : b)))),
        (max, extra, fill) => {
          const stream = Buffer.alloc(max + extra);
          for (let i = 0; i < stream.length; i++) stream[i] = fill[i % fill.length]!;
          // Byte-at-a-time: the (max+1)th byte is the push that fails.
          const got = feedSplitter([...stream].map((b) => Buffer.from([b])), max);
          assert.equal(got.failedAt, max);
          assert.deepEqual(got.lines, []);
        },
      ),
      params(100),
    );
  });
});

// ---- frame codec -------------------------------------------------------------------------------

// Plain objects (fc.record makes null-prototype ones), comparable with what the decoder yields.
const frameArb = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }))
  .map(([kind, payload]) => ({ kind, payload: Buffer.from(payload) }));
type Frame = { kind: number; payload: Buffer };

function decodeAll(chunks: Buffer[], max: number): { frames: Frame[]; error: unknown; failedAt: number | null } {
  const decoder = new FrameDecoder(max);
  const frames: Frame[] = [];
  for (let i = 0; i < chunks.length; i++) {
    try {
      // The payload is a view valid during the call only: copy it.
      decoder.push(chunks[i]!, (kind, payload) => frames.push({ kind, payload: Buffer.from(payload) }));
    } catch (error) {
      return { frames, error, failedAt: i };
    }
  }
  return { frames, error: null, failedAt: null };
}

describe('properties: IPC frame codec', () => {
  test('any frames, split anywhere, decode to themselves in order', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 20 }).chain((frames) =>
          fc.record({
            frames: fc.constant(frames),
            cuts: cutsFor(frames.reduce((n, f) => n + 5 + f.payload.length, 0)),
            slack: fc.nat({ max: 1000 }),
          }),
        ),
        ({ frames, cuts, slack }) => {
          const stream = Buffer.concat(frames.map((f) => encodeFrame(f.kind, f.payload)));
          const max = 1 + Math.max(0, ...frames.map((f) => f.payload.length)) + slack;
          const got = decodeAll(chunksOf(stream, cuts), max);
          assert.equal(got.error, null);
          assert.deepEqual(got.frames, frames);
        },
      ),
      params(),
    );
  });

  test('buildFrame writes the same bytes as encodeFrame', () => {
    fc.assert(
      fc.property(frameArb, ({ kind, payload }) => {
        assert.deepEqual(
          buildFrame(kind, payload.length, (frame, offset) => payload.copy(frame, offset)),
          encodeFrame(kind, payload),
        );
      }),
      params(100),
    );
  });

  test('a length over the bound (or zero) is rejected as soon as its 4 bytes arrive, after the frames before it', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 6 }),
        fc.integer({ min: 1, max: 4096 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 32 - 1 })),
        fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
        fc.array(fc.nat(), { maxLength: 12 }),
        (frames, bound, badLength, trailer, rawCuts) => {
          const valid = frames.filter((f) => 1 + f.payload.length <= bound);
          fc.pre(badLength === 0 || badLength > bound);
          const prefix = Buffer.concat(valid.map((f) => encodeFrame(f.kind, f.payload)));
          const header = Buffer.alloc(4);
          header.writeUInt32BE(badLength, 0);
          const stream = Buffer.concat([prefix, header, trailer]);
          const chunks = chunksOf(stream, rawCuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b));
          const got = decodeAll(chunks, bound);
          assert.ok(got.error instanceof FrameTooLargeError, `expected FrameTooLargeError, got ${String(got.error)}`);
          assert.equal((got.error as FrameTooLargeError).code, 'IPC_FRAME_TOO_LARGE');
          assert.equal(got.failedAt, chunkHolding(chunks, prefix.length + 3));
          assert.deepEqual(got.frames, valid);
        },
      ),
      params(),
    );
  });
});

// ---- validator ---------------------------------------------------------------------------------

const CODES = new Set<string>(Object.values(ErrorCode));

/** The client message types of docs/PROTOCOL.md (the server may know more; none of these fewer). */
const KNOWN_TYPES = [
  'identitychange', 'join', 'who', 'list', 'createroom', 'delete', 'message', 'quit',
  'register', 'login', 'logout', 'dm', 'history', 'dmhistory', 'resume', 'recall', 'ack',
  'block', 'unblock', 'dnd', 'status', 'presence',
] as const;
type KnownType = (typeof KNOWN_TYPES)[number];

/** Calls the validator; it must not throw and must answer ok or a code of the catalogue. */
function parseChecked(line: string): ParseResult {
  let r: ParseResult;
  try {
    r = parseClientLine(line);
  } catch (err) {
    assert.fail(`parseClientLine threw ${String(err)} on ${JSON.stringify(line).slice(0, 200)}`);
  }
  if (r.ok) {
    assert.equal(typeof r.message, 'object');
    assert.equal(typeof r.message.type, 'string');
  } else {
    assert.ok(CODES.has(r.code), `code ${JSON.stringify(r.code)} is not in ErrorCode`);
    assert.equal(typeof r.message, 'string');
  }
  return r;
}

const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }),
  // JSON-looking text, fragments of it and lone surrogates.
  fc.json({ maxDepth: 3 }).chain((j) => fc.nat({ max: j.length }).map((n) => j.slice(0, n))),
  fc.constantFrom('\u0000', '\ud800', '{"type":"\udfff"}', '{"type":"list"}\u0000', '{"__proto__":{"type":"list"}}'),
);
/** Small JSON values: shallow, so they stay within any nesting limit the server may set. */
const shallowJson = fc.jsonValue({ maxDepth: 2 });
const nonString = shallowJson.filter((v) => typeof v !== 'string');
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 40 }));
const count = fc.integer({ min: 0, max: 2 ** 40 });

/** The required string fields of each type whose fields are all plain required strings. */
const STRING_FIELDS: Partial<Record<KnownType, string[]>> = {
  identitychange: ['identity'], join: ['roomid'], who: ['roomid'], createroom: ['roomid'], delete: ['roomid'],
  message: ['content'], register: ['username', 'password'], dm: ['to', 'content'], history: ['roomid'],
  dmhistory: ['with'], resume: ['roomid'], recall: ['id'], block: ['user'], unblock: ['user'], status: ['text'],
};

/** A valid message of each type, with any field values the schema allows. */
const validBody: Record<KnownType, fc.Arbitrary<Record<string, unknown>>> = {
  identitychange: fc.record({ identity: text }),
  join: fc.record({ roomid: text }),
  who: fc.record({ roomid: text }),
  list: fc.constant({}),
  createroom: fc.record({ roomid: text }),
  delete: fc.record({ roomid: text }),
  message: fc.record({ content: text }),
  quit: fc.constant({}),
  register: fc.record({ username: text, password: text }),
  login: fc.oneof(fc.record({ username: text, password: text }), fc.record({ token: text }), fc.record({ username: text, password: text, token: text })),
  logout: fc.constant({}),
  dm: fc.record({ to: text, content: text }),
  history: fc.record({ roomid: text, before: count, limit: fc.integer({ min: 1, max: 2 ** 40 }) }, { requiredKeys: ['roomid'] }),
  dmhistory: fc.record(
    { with: text, before: fc.double({ noNaN: true, noDefaultInfinity: true }), limit: fc.integer({ min: 1, max: 1000 }) },
    { requiredKeys: ['with'] },
  ),
  resume: fc.record({ roomid: text, since: count }),
  recall: fc.record({ id: text }),
  ack: fc.record({ inbox: count }),
  block: fc.record({ user: text }),
  unblock: fc.record({ user: text }),
  dnd: fc.record({ on: fc.boolean() }),
  status: fc.record({ text: fc.string({ unit: 'binary', maxLength: 140 }) }),
  presence: fc.record({ users: fc.array(text, { maxLength: 100 }) }),
};

/** Extra fields a client may add: any name but the type's own, shallow values. */
const FIELD_NAMES = new Set(['type', 'identity', 'roomid', 'content', 'username', 'password', 'token', 'to', 'with', 'before', 'limit', 'since', 'id', 'inbox', 'user', 'on', 'text', 'users']);
const extras = fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => !FIELD_NAMES.has(k) && k !== '__proto__'), shallowJson, { maxKeys: 4 });

const validMessage = fc
  .constantFrom(...KNOWN_TYPES)
  .chain((type) => fc.tuple(fc.constant(type), validBody[type], extras))
  .map(([type, body, extra]) => ({ ...extra, ...body, type }));

/** Limits as the worker passes them; a server version without them ignores the argument. */
interface Limits {
  maxJsonDepth: number;
  maxContentLength: number;
}
const limitsArb = fc.record({ maxJsonDepth: fc.integer({ min: 1, max: 64 }), maxContentLength: fc.integer({ min: 1, max: 20_000 }) });
const parseWithLimits = (line: string, limits: Limits): ParseResult => {
  const parse = parseClientLine as (line: string, limits?: Limits) => ParseResult;
  let r: ParseResult;
  try {
    r = parse(line, limits);
  } catch (err) {
    assert.fail(`parseClientLine threw ${String(err)} on ${JSON.stringify(line).slice(0, 200)} with ${JSON.stringify(limits)}`);
  }
  if (!r.ok) assert.ok(CODES.has(r.code), `code ${JSON.stringify(r.code)} is not in ErrorCode`);
  return r;
};
/** Nesting of arrays/objects: a scalar is 0, `[]` and `{}` are 1. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (typeof v === 'object' && v !== null) return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}
/** True (the test skipped, or failed under CI=true) when the catalogue lacks `code`. */
const missingCode = (t: TestContext, code: string): boolean =>
  missingPrerequisite(t, Object.prototype.hasOwnProperty.call(ErrorCode, code), `this server version has no ${code} in src/protocol/errors.ts yet`);

describe('properties: client message validator', () => {
  test('never throws on arbitrary text; answers ok or a catalogued code', () => {
    fc.assert(
      fc.property(anyString, (line) => {
        const r = parseChecked(line);
        if (r.ok) assert.deepEqual(r.message, JSON.parse(line));
      }),
      params(1000),
    );
  });

  test('arbitrary JSON values: not an object with a string type -> INVALID_MESSAGE; a known type never -> UNKNOWN_TYPE', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({ type: fc.jsonValue({ maxDepth: 2 }) }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })).chain((d) => fc.constantFrom(...KNOWN_TYPES).map((type) => ({ ...d, type }))),
    );
    fc.assert(
      fc.property(value, (v) => {
        const r = parseChecked(JSON.stringify(v));
        const isObject = typeof v === 'object' && v !== null && !Array.isArray(v);
        const type = isObject ? (v as { type?: unknown }).type : undefined;
        if (!isObject || typeof type !== 'string') {
          assert.deepEqual(r.ok ? 'ok' : r.code, ErrorCode.INVALID_MESSAGE);
        } else if ((KNOWN_TYPES as readonly string[]).includes(type)) {
          assert.notEqual(r.ok ? 'ok' : r.code, ErrorCode.UNKNOWN_TYPE);
        }
        if (r.ok) assert.deepEqual(r.message, JSON.parse(JSON.stringify(v)));
      }),
      params(1000),
    );
  });

  test('names that exist on Object.prototype, or differ from a type by case or spacing, are UNKNOWN_TYPE', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'LIST', 'Message', ' list', 'list ', 'list\u0000', 'jo\u0000in'),
        extras,
        (type, extra) => {
          const r = parseChecked(JSON.stringify({ ...extra, type }));
          assert.deepEqual(r.ok ? 'ok' : r.code, ErrorCode.UNKNOWN_TYPE);
        },
      ),
      params(100),
    );
  });

  test('every valid message parses, to itself (unicode, NUL, extra fields and all)', () => {
    fc.assert(
      fc.property(validMessage, fc.constantFrom('', ' ', '\t', '\r'), (msg, pad) => {
        const line = pad + JSON.stringify(msg) + pad;
        const r = parseChecked(line);
        assert.ok(r.ok, `valid ${line.slice(0, 300)} refused: ${r.ok ? '' : r.code + ' ' + r.message}`);
        assert.deepEqual(r.message, JSON.parse(JSON.stringify(msg)));
      }),
      params(1000),
    );
  });

  test('a required string field missing or of another JSON type -> INVALID_FIELD', () => {
    const typed = fc.constantFrom(...(Object.keys(STRING_FIELDS) as KnownType[]));
    fc.assert(
      fc.property(
        typed.chain((type) => fc.tuple(fc.constant(type), validBody[type], fc.constantFrom(...STRING_FIELDS[type]!))),
        fc.option(nonString, { nil: undefined }),
        ([type, body, field], replacement) => {
          const msg: Record<string, unknown> = { ...body, type };
          if (replacement === undefined) delete msg[field];
          else msg[field] = replacement;
          const r = parseChecked(JSON.stringify(msg));
          assert.deepEqual(r.ok ? 'ok' : r.code, ErrorCode.INVALID_FIELD, JSON.stringify(msg).slice(0, 300));
        },
      ),
      params(500),
    );
  });

  test('"__proto__" keys stay plain data: no field is inherited and Object.prototype is untouched', () => {
    fc.assert(
      fc.property(validMessage, shallowJson, (msg, proto) => {
        const keysBefore = Object.getOwnPropertyNames(Object.prototype).join();
        // JSON.stringify would drop a __proto__ key of an object literal: write it by hand.
        const body = JSON.stringify(msg);
        const line = `{"__proto__":${JSON.stringify(proto)},${body.slice(1)}`;
        const r = parseChecked(line);
        assert.ok(r.ok, `${line.slice(0, 200)}: ${r.ok ? '' : r.code}`);
        assert.equal(Object.getOwnPropertyNames(Object.prototype).join(), keysBefore);
        assert.equal(({} as Record<string, unknown>).type, undefined);
        // Fields given only under __proto__ do not count: a join with its roomid there is invalid.
        const hidden = parseChecked(`{"type":"join","__proto__":{"roomid":${JSON.stringify(JSON.stringify(proto))}}}`);
        assert.deepEqual(hidden.ok ? 'ok' : hidden.code, ErrorCode.INVALID_FIELD);
      }),
      params(300),
    );
  });

  test('with limits (maxJsonDepth, maxContentLength) it still never throws and answers ok or a catalogued code', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)), validMessage.map((m) => JSON.stringify(m))), limitsArb, (line, limits) => {
        parseWithLimits(line, limits);
      }),
      params(1000),
    );
  });

  test('TOO_DEEP exactly when arrays/objects nest deeper than maxJsonDepth', (t) => {
    if (missingCode(t, 'TOO_DEEP')) return;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 10 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), (v, maxJsonDepth, wrap) => {
        // Wrapped in a valid message, the message object itself is one more level.
        const line = wrap ? JSON.stringify({ type: 'message', content: 'x', extra: v }) : JSON.stringify(v);
        const depth = (wrap ? 1 : 0) + depthOf(v);
        const r = parseWithLimits(line, { maxJsonDepth, maxContentLength: 1e9 });
        assert.equal(!r.ok && (r.code as string) === 'TOO_DEEP', depth > maxJsonDepth, `depth ${depth}, limit ${maxJsonDepth}: ${r.ok ? 'ok' : r.code}`);
      }),
      params(1000),
    );
  });

  test('CONTENT_TOO_LONG exactly when message or dm content has more code points than maxContentLength', (t) => {
    if (missingCode(t, 'CONTENT_TOO_LONG')) return;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.integer({ min: 1, max: 80 }), fc.constantFrom('message', 'dm'), (content, maxContentLength, type) => {
        const msg = type === 'message' ? { type, content } : { type, to: 'bob', content };
        const r = parseWithLimits(JSON.stringify(msg), { maxJsonDepth: 8, maxContentLength });
        const codePoints = [...content].length;
        assert.equal(r.ok ? 'ok' : r.code, codePoints > maxContentLength ? 'CONTENT_TOO_LONG' : 'ok', `${codePoints} code points, limit ${maxContentLength}`);
      }),
      params(500),
    );
  });

  test('deep nesting anywhere in the line does not throw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('[', '{"a":'), fc.boolean(), (depth, open, closeIt) => {
        const close = open === '[' ? ']' : '}';
        const nested = open.repeat(depth) + '1' + (closeIt ? close.repeat(depth) : '');
        parseChecked(nested);
        parseChecked(`{"type":"message","content":"x","extra":${nested}}`);
        parseChecked(`{"type":"join","roomid":${nested}}`);
      }),
      params(100),
    );
  });
});
