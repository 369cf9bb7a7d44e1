import type { Prng } from './chaos';

/**
 * Generators of hostile client input for the network fuzz suite: random bytes, random JSON,
 * and valid messages mutated the ways real clients and attackers get them wrong. Every choice
 * comes from the given Prng, so one seed gives one input sequence.
 */

export interface FuzzInput {
  /** Which generator made it (counted per kind in the report). */
  kind: string;
  data: string | Buffer;
}

const TYPES = [
  'identitychange', 'join', 'who', 'list', 'createroom', 'delete', 'message', 'quit',
  'register', 'login', 'logout', 'dm', 'history', 'dmhistory', 'resume', 'recall', 'ack',
  'block', 'unblock', 'dnd', 'status', 'presence', 'ping',
  'private', 'invite', 'uninvite', 'kick', 'ban', 'unban', 'roominfo', 'transfer', 'disconnect', 'notice',
] as const;

/** Types that cost the server real work (scrypt) or end the session: drawn rarely. */
const RARE = new Set(['register', 'login', 'quit']);

const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineSetter__'];

/** Strings that break naive code: control characters, surrogates, RTL, combining marks, BOM. */
const NASTY = [
  '\u0000', '\u0000\u0000x', '\ud800', '\udfff', '\ud83d\ude00', '\u202e', '\u200b', '\ufeff', '\u0301\u0301\u0301',
  '\n', '\r', '\t', '\\', '"', "'", '%s%n', '${x}', '<script>', 'NaN', 'null', 'MainHall', 'mainhall', ' ',
  '\u00e9', 'e\u0301', '\uffff', '\u{10ffff}', '\u{1f4a9}'.repeat(40),
];

export class FuzzInputs {
  constructor(
    private readonly r: Prng,
    /** Room ids the fuzzers share, so their creates, joins and deletes meet. */
    private readonly rooms: readonly string[],
    /** The server's line bound: huge inputs go a little under and over it. */
    private readonly maxLineBytes: number,
  ) {}

  next(): FuzzInput {
    const r = this.r;
    switch (r.int(0, 15)) {
      case 0:
        return { kind: 'bytes', data: this.bytes(r.int(1, 300)) };
      case 1:
        return { kind: 'json', data: JSON.stringify(this.json(r.int(0, 4))) + '\n' };
      case 2:
      case 3:
      case 4:
        return { kind: 'valid', data: JSON.stringify(this.valid()) + this.eol() };
      case 5:
        return { kind: 'swapped', data: JSON.stringify(this.swapped()) + '\n' };
      case 6:
        return { kind: 'huge', data: this.huge() };
      case 7:
        return { kind: 'deep', data: this.deep() };
      case 8:
        return { kind: 'unicode', data: JSON.stringify({ ...this.valid(), [r.pick(['content', 'roomid', 'identity', 'text'])]: this.nasty() }) + '\n' };
      case 9:
        return { kind: 'nul', data: this.nul() };
      case 10:
        return { kind: 'partial', data: this.partial() };
      case 11:
        return { kind: 'proto', data: this.proto() };
      case 12:
        return { kind: 'blank', data: r.pick(['\n', '\r\n', '   \n', '\r', '\t\n', '\n\n\n', ' \r\n', '\u00a0\n']) };
      case 13:
        return { kind: 'numbers', data: this.numbers() };
      case 14:
        return { kind: 'dupkeys', data: `{"type":"join","roomid":${JSON.stringify(r.pick(this.rooms))},"type":${JSON.stringify(r.pick(TYPES))},"content":1,"content":"x"}\n` };
      default:
        return { kind: 'batch', data: Array.from({ length: r.int(2, 60) }, () => JSON.stringify(this.valid(false)) + '\n').join('') };
    }
  }

  private eol(): string {
    return this.r.chance(0.8) ? '\n' : '\r\n';
  }

  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.r.chance(0.03) ? 0x0a : this.r.int(0, 255);
    return b;
  }

  private str(maxLen: number): string {
    const r = this.r;
    const len = r.int(0, maxLen);
    let s = '';
    for (let i = 0; i < len; i++) {
      const band = r.int(0, 9);
      const cp = band < 6 ? r.int(0x20, 0x7e) : band < 8 ? r.int(0, 0xffff) : r.int(0x10000, 0x10ffff);
      s += String.fromCodePoint(cp);
    }
    return s;
  }

  private nasty(): string {
    return Array.from({ length: this.r.int(1, 6) }, () => this.r.pick(NASTY)).join(this.r.chance(0.5) ? '' : this.str(4));
  }

  private name(): string {
    const r = this.r;
    switch (r.int(0, 4)) {
      case 0:
        return r.pick(this.rooms);
      case 1:
        return `F${r.int(0, 99999)}x`;
      case 2:
        return this.str(20);
      case 3:
        return r.pick(['MainHall', 'guest1', 'guest2', '', 'a', 'x'.repeat(33)]);
      default:
        return `Fz${r.int(0, 9)}`;
    }
  }

  json(depth: number): unknown {
    const r = this.r;
    const leaf = (): unknown => r.pick<() => unknown>([() => null, () => r.chance(0.5), () => r.int(-1e6, 1e6), () => r.next() * 1e300, () => this.str(10)])();
    if (depth <= 0) return leaf();
    switch (r.int(0, 3)) {
      case 0:
        return Array.from({ length: r.int(0, 4) }, () => this.json(depth - 1));
      case 1:
        return Object.fromEntries(Array.from({ length: r.int(0, 4) }, () => [r.chance(0.3) ? r.pick(['type', 'content', 'roomid']) : this.str(6), this.json(depth - 1)]));
      default:
        return leaf();
    }
  }

  /** A message the schema accepts (values may still be refused by the rules: bad names, no such room). */
  valid(allowRare = true): Record<string, unknown> {
    const r = this.r;
    let type: string = r.pick(TYPES);
    if (RARE.has(type) && (!allowRare || r.chance(0.97))) type = 'message';
    const int = (): number => r.pick([0, 1, 2, r.int(0, 1000), 2 ** 31, Number.MAX_SAFE_INTEGER]);
    switch (type) {
      case 'identitychange':
        return { type, identity: this.name() };
      case 'join':
      case 'who':
      case 'createroom':
      case 'delete':
        return { type, roomid: this.name() };
      case 'message':
        return { type, content: this.str(r.chance(0.1) ? 2000 : 80) };
      case 'register':
        return { type, username: `Fu${r.int(0, 1e6)}`, password: this.str(20) };
      case 'login':
        return r.chance(0.5) ? { type, username: this.name(), password: this.str(12) } : { type, token: this.str(43) };
      case 'dm':
        return { type, to: this.name(), content: this.str(40) };
      case 'history':
        return { type, roomid: this.name(), ...(r.chance(0.5) ? { before: int() } : {}), ...(r.chance(0.5) ? { limit: int() + 1 } : {}) };
      case 'dmhistory':
        return { type, with: this.name(), ...(r.chance(0.5) ? { before: r.next() * 1e15 } : {}), ...(r.chance(0.5) ? { limit: int() + 1 } : {}) };
      case 'resume':
        return { type, roomid: this.name(), since: int() };
      case 'recall':
        return { type, id: r.chance(0.5) ? this.str(36) : '0190c3b2-0000-7000-8000-000000000000' };
      case 'ack':
        return { type, inbox: int() };
      case 'block':
      case 'unblock':
        return { type, user: this.name() };
      case 'dnd':
        return { type, on: r.chance(0.5) };
      case 'status':
        return { type, text: this.str(r.chance(0.2) ? 200 : 100) };
      case 'presence':
        return { type, users: Array.from({ length: r.pick([0, 1, 5, 100, 101, 300]) }, () => this.name()) };
      case 'private':
        return { type, roomid: this.name(), on: r.chance(0.5) };
      case 'invite':
      case 'uninvite':
      case 'unban':
      case 'transfer':
        return { type, roomid: this.name(), identity: this.name() };
      case 'kick':
        return { type, roomid: this.name(), identity: this.name(), ...(r.chance(0.5) ? { reason: this.str(r.chance(0.2) ? 250 : 30) } : {}) };
      case 'ban':
        return { type, roomid: this.name(), identity: this.name(), ...(r.chance(0.5) ? { seconds: r.pick([0, 1, 60, 315_360_000, 315_360_001]) } : {}), ...(r.chance(0.5) ? { reason: this.str(30) } : {}) };
      case 'roominfo':
        return { type, roomid: this.name() };
      case 'disconnect':
        return { type, identity: this.name(), ...(r.chance(0.5) ? { reason: this.str(30) } : {}) };
      case 'notice':
        return { type, content: this.str(80) };
      default:
        return { type };
    }
  }

  /** A valid message with one field given a value of another JSON type. */
  private swapped(): Record<string, unknown> {
    const msg = this.valid();
    const keys = Object.keys(msg);
    const key = this.r.chance(0.2) ? 'type' : this.r.pick(keys);
    const others: unknown[] = [null, true, 0, -1, 1.5, 1e309 /* Infinity: serialized as null */, [], {}, [msg[key]], { v: msg[key] }, 'x', ''];
    msg[key] = this.r.pick(others);
    if (this.r.chance(0.2)) delete msg[this.r.pick(keys)];
    return msg;
  }

  /** A line of a big string: under the bound, at it, or past it (then the server must close). */
  private huge(): string {
    const r = this.r;
    const target = r.pick([1024, 16384, 16385, this.maxLineBytes - 40, this.maxLineBytes, this.maxLineBytes + 1, this.maxLineBytes * 2]);
    const field = r.pick(['content', 'roomid', 'identity', 'password', 'text', 'junk']);
    const head = `{"type":${JSON.stringify(r.pick(['message', 'join', 'status', 'register', 'presence']))},"${field}":"`;
    const body = r.chance(0.5) ? 'x'.repeat(Math.max(0, target - head.length - 2)) : '\u00e9'.repeat(Math.max(0, Math.floor((target - head.length - 2) / 2)));
    // Past the bound, sometimes without ever sending the newline.
    return head + body + '"}' + (target > this.maxLineBytes && r.chance(0.5) ? '' : '\n');
  }

  /** Nesting, from a little to far past any sane depth, balanced or not. */
  private deep(): string {
    const r = this.r;
    const depth = r.pick([2, 8, 9, 64, 65, 1000, r.int(1, 30000)]);
    const [open, close] = r.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
    const nested = open.repeat(depth) + '1' + (r.chance(0.8) ? close.repeat(depth) : '');
    return r.pick([nested, `{"type":"message","content":"x","extra":${nested}}`, `{"type":"join","roomid":${nested}}`, `{"type":"presence","users":${nested}}`]) + '\n';
  }

  private nul(): string {
    const r = this.r;
    const msg = JSON.stringify({ ...this.valid(false), content: `a\u0000b${this.str(5)}\u0000` });
    // Raw NUL bytes (not escaped) inside and around the JSON, or the escaped form only.
    return r.pick([msg, msg.replace(/\\u0000/g, '\u0000'), `\u0000${msg}`, `${msg}\u0000`, '\u0000\u0000\u0000']) + '\n';
  }

  /** The front of a line with no end: the next input is glued onto it. */
  private partial(): string {
    const line = JSON.stringify(this.valid());
    return line.slice(0, this.r.int(1, Math.max(1, line.length - 1)));
  }

  private proto(): string {
    const r = this.r;
    const name = r.pick(PROTO_NAMES);
    return (
      r.pick([
        `{"type":${JSON.stringify(name)}}`,
        `{"__proto__":{"type":"list","isAdmin":true},"type":"who","roomid":"MainHall"}`,
        `{"type":"join","__proto__":{"roomid":"MainHall"}}`,
        `{"type":"message","content":"p","constructor":{"prototype":{"polluted":true}}}`,
        `{"type":"presence","users":["__proto__","constructor","hasOwnProperty"]}`,
        `{"type":"createroom","roomid":${JSON.stringify(name)}}`,
        `{"type":"identitychange","identity":${JSON.stringify(name)}}`,
        `{"type":"history","roomid":"__proto__","limit":1}`,
        `{"type":"login","username":"__proto__","password":"constructor"}`,
        `{"${name}":1,"type":"list"}`,
      ]) + '\n'
    );
  }

  private numbers(): string {
    const r = this.r;
    const n = r.pick(['-0', '1e308', '1e309', '-1e309', '1e-400', '9007199254740993', '1'.repeat(1000), '0.5', '-1', '1E2', '0x10', 'NaN', 'Infinity', '01']);
    const field = r.pick(['limit', 'before', 'since', 'inbox', 'on']);
    return `{"type":${JSON.stringify(r.pick(['history', 'dmhistory', 'resume', 'ack', 'dnd']))},"roomid":"Fz1","with":"x","${field}":${n}}\n`;
  }
}
