/**
 * The wire protocol as the terminal client sees it (seed 004 and Switchboard's accounts,
 * direct messages and history, roles and moderation): the message types, a lenient decoder for server lines and an
 * encoder for client messages.
 *
 * The client keeps its own copy of the message shapes rather than importing the server's, so
 * that it behaves like the independent clients in the wild: it checks only what it displays
 * and tolerates extra fields.
 */

/** A room and its member count, as carried by `roomlist`. */
export interface RoomSummary {
  roomid: string;
  count: number;
}

/**
 * A room message, live or replayed. Seed-004 servers send only `identity` and `content`;
 * Switchboard adds where and when it was sent, and its unique id for `recall`.
 */
export interface RoomMessage {
  type: 'message';
  identity: string;
  content: string;
  roomid?: string;
  id?: string;
  /** Per room 1, 2, 3, ...: what `resume` and the client's de-duplication go by. */
  seq?: number;
  /** Milliseconds since the epoch. */
  ts?: number;
  /** The room's epoch: `seq` counts within it; a new epoch is a new sequence. */
  epoch?: string;
  /** Set on recalled messages read back from history (their content is then empty). */
  recalled?: boolean;
  /** The file it carries (docs/PROTOCOL.md, "Files and attachments"). */
  attachment?: WireAttachment;
}

/** A file a message carries, as the server recorded it; `/get ID` downloads it. */
export interface WireAttachment {
  id: string;
  name: string;
  size: number;
  type: string;
  thumbnail: boolean;
}

/** A direct message between two accounts. */
export interface DirectMessage {
  type: 'dm';
  from: string;
  to: string;
  content: string;
  id?: string;
  ts?: number;
  /** Set when delivered from the offline inbox: acknowledge with `ack`. */
  inbox?: number;
  recalled?: boolean;
  attachment?: WireAttachment;
}

/** One user's presence, as carried by `presence`. */
export interface PresenceEntry {
  username: string;
  online: boolean;
  status: string;
  dnd: boolean;
  /** True when `state` says away (servers of the devices feature; absent or false otherwise). */
  away?: boolean;
}

/** One ban, as listed by `roominfo`. */
export interface BanEntry {
  identity: string;
  by: string;
  reason: string;
  /** Milliseconds since the epoch when the ban ends; 0: until `unban`. */
  until: number;
}

/** What the roles and moderation extension tells: changes to a room's rules, notices. */
export type ModerationMessage =
  | { type: 'private'; roomid: string; on: boolean; by: string }
  | { type: 'invite'; roomid: string; identity: string; by: string }
  | { type: 'uninvite'; roomid: string; identity: string; by: string }
  | { type: 'kick'; roomid: string; identity: string; by: string; reason: string }
  | ({ type: 'ban'; roomid: string } & BanEntry)
  | { type: 'unban'; roomid: string; identity: string; by: string }
  | { type: 'roominfo'; roomid: string; owner: string; private: boolean; invited: string[]; bans: BanEntry[] }
  | { type: 'disconnected'; identity: string; by: string; reason: string }
  | { type: 'notice'; from: string; content: string; ts: number };

/** The server → client messages the client understands. */
export type ServerMessage =
  | { type: 'newidentity'; former: string; identity: string }
  | { type: 'roomchange'; identity: string; former: string; roomid: string }
  | { type: 'roomcontents'; roomid: string; identities: string[]; owner: string }
  | { type: 'roomlist'; rooms: RoomSummary[] }
  | RoomMessage
  | { type: 'error'; code: string; message: string }
  | { type: 'registered'; username: string }
  /** `admin`: the account is a server administrator (absent from servers without roles). */
  | { type: 'loggedin'; identity: string; token: string; admin?: boolean }
  | { type: 'loggedout'; identity: string }
  | DirectMessage
  /** `next`: where the next (older) page starts, null at the start; absent from servers without paging. */
  | { type: 'history'; roomid: string; messages: RoomMessage[]; next?: number | null }
  | { type: 'dmhistory'; with: string; messages: DirectMessage[]; next?: number | null }
  /** `epoch`: the room's epoch now (absent from servers without epochs). */
  | { type: 'resumed'; roomid: string; seq: number; epoch?: string }
  | { type: 'recalled'; id: string; roomid: string; seq: number; by: string }
  | { type: 'blocklist'; users: string[] }
  | { type: 'profile'; username: string; status: string; dnd: boolean }
  | { type: 'presence'; users: PresenceEntry[] }
  /** This connection's resume token (Switchboard's reconnection extension). */
  | { type: 'session'; token: string; graceMs: number }
  /** A `reclaim` succeeded: the identity and room we have now. */
  | { type: 'reclaimed'; identity: string; roomid: string }
  /** The answer to our `hello`: the capabilities the server grants this connection. */
  | { type: 'hello'; capabilities: string[]; limits?: RateLimits; http?: HttpListener }
  | ModerationMessage;

/** The HTTP listener a server advertises in its `hello` reply: where `/send` and `/get` go. */
export interface HttpListener {
  port: number;
  /** HTTPS. */
  tls: boolean;
}

/** The rate limits a server advertises in its `hello` reply (lines a second; at once). */
export interface RateLimits {
  rate: number;
  burst: number;
  accountRate?: number;
}

/** The client → server messages. */
export type ClientMessage =
  | { type: 'identitychange'; identity: string }
  | { type: 'join'; roomid: string }
  | { type: 'who'; roomid: string }
  | { type: 'list' }
  /** `private`: invite-only from the start (roles extension); absent for an open room. */
  | { type: 'createroom'; roomid: string; private?: true }
  | { type: 'delete'; roomid: string }
  | { type: 'message'; content: string; attachment?: { id: string } }
  | { type: 'quit' }
  | { type: 'register'; username: string; password: string }
  | { type: 'login'; username: string; password: string }
  | { type: 'login'; token: string }
  | { type: 'logout' }
  | { type: 'dm'; to: string; content: string; attachment?: { id: string } }
  | { type: 'history'; roomid: string; before?: number; limit?: number }
  | { type: 'dmhistory'; with: string; before?: number; cursor?: number; limit?: number }
  /** `epoch`: the epoch `since` counts in, when known: another one makes the server replay from 1. */
  | { type: 'resume'; roomid: string; since: number; epoch?: string }
  | { type: 'recall'; id: string }
  | { type: 'ack'; inbox: number }
  | { type: 'block'; user: string }
  | { type: 'unblock'; user: string }
  | { type: 'dnd'; on: boolean }
  | { type: 'status'; text: string }
  | { type: 'presence'; users: string[] }
  /** The account's block list, answered with `blocklist`. */
  | { type: 'blocklist' }
  | { type: 'private'; roomid: string; on: boolean }
  | { type: 'invite'; roomid: string; identity: string }
  | { type: 'uninvite'; roomid: string; identity: string }
  | { type: 'kick'; roomid: string; identity: string; reason?: string }
  | { type: 'ban'; roomid: string; identity: string; seconds?: number; reason?: string }
  | { type: 'unban'; roomid: string; identity: string }
  | { type: 'roominfo'; roomid: string }
  | { type: 'transfer'; roomid: string; identity: string }
  | { type: 'disconnect'; identity: string; reason?: string }
  | { type: 'notice'; content: string }
  | { type: 'session' }
  | { type: 'reclaim'; token: string }
  /** Declares this client extended: sent first on every connection (docs/PROTOCOL.md). */
  | { type: 'hello'; capabilities: string[] }
  /** The contact list (docs/PROTOCOL.md, "Devices, contacts and presence"): `/online` asks for it. */
  | { type: 'contacts'; action: 'list' };

/**
 * One line received from the server, classified:
 * - `known`: a message of a known type with every field the client needs;
 * - `other`: a JSON object that is not (an unknown type, or a known type with missing fields);
 * - `raw`: a line that is not a JSON object at all.
 */
export type ServerEvent =
  | { kind: 'known'; message: ServerMessage }
  | { kind: 'other'; type: string; line: string }
  | { kind: 'raw'; line: string };

type Fields = Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === 'string';
const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function isRoomSummary(v: unknown): v is RoomSummary {
  return isFields(v) && isString(v.roomid) && typeof v.count === 'number';
}

/** Copies the optional fields that have the right type; others are ignored, not trusted. */
function optional<T extends object>(target: T, o: Fields, fields: Record<string, (v: unknown) => boolean>): T {
  for (const [name, ok] of Object.entries(fields)) {
    if (ok(o[name])) (target as Fields)[name] = o[name];
  }
  return target;
}

const isTrue = (v: unknown): boolean => v === true;
const isBoolean = (v: unknown): boolean => typeof v === 'boolean';

function toRoomMessage(o: Fields): RoomMessage | null {
  if (!isString(o.identity) || !isString(o.content)) return null;
  return optional<RoomMessage>({ type: 'message', identity: o.identity, content: o.content }, o, {
    roomid: isString,
    id: isString,
    seq: isCount,
    ts: isCount,
    epoch: isString,
    recalled: isTrue,
    attachment: isAttachment,
  });
}

function isAttachment(v: unknown): boolean {
  return isFields(v) && isString(v.id) && isString(v.name) && isCount(v.size) && isString(v.type) && typeof v.thumbnail === 'boolean';
}

function toDirectMessage(o: Fields): DirectMessage | null {
  if (!isString(o.from) || !isString(o.to) || !isString(o.content)) return null;
  return optional<DirectMessage>({ type: 'dm', from: o.from, to: o.to, content: o.content }, o, {
    id: isString,
    ts: isCount,
    inbox: isCount,
    recalled: isTrue,
    attachment: isAttachment,
  });
}

function isPresenceEntry(v: unknown): v is PresenceEntry {
  return isFields(v) && isString(v.username) && typeof v.online === 'boolean' && isString(v.status) &&
    typeof v.dnd === 'boolean';
}

/** The entry's `state` (servers of the devices feature) says away; other values and its absence do not. */
function isAwayEntry(entry: PresenceEntry): boolean {
  return (entry as PresenceEntry & { state?: unknown }).state === 'away';
}

function toBanEntry(o: Fields): BanEntry | null {
  return isString(o.identity) && isString(o.by) && isString(o.reason) && isCount(o.until)
    ? { identity: o.identity, by: o.by, reason: o.reason, until: o.until }
    : null;
}

/** Maps every item, or returns null if any is not valid. */
function all<T>(items: unknown, each: (o: Fields) => T | null): T[] | null {
  if (!Array.isArray(items)) return null;
  const out: T[] = [];
  for (const item of items) {
    const value = isFields(item) ? each(item) : null;
    if (value === null) return null;
    out.push(value);
  }
  return out;
}

const isRate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Usable advertised limits, or nothing. */
function limitsOf(v: unknown): { limits?: RateLimits } {
  if (!isFields(v) || !isRate(v.rate) || !isRate(v.burst)) return {};
  return { limits: { rate: v.rate, burst: v.burst, ...(isRate(v.accountRate) ? { accountRate: v.accountRate } : {}) } };
}

function httpOf(v: unknown): { http?: HttpListener } {
  if (!isFields(v) || !Number.isInteger(v.port) || (v.port as number) < 1 || (v.port as number) > 65535) return {};
  return { http: { port: v.port as number, tls: v.tls === true } };
}

/** The `next` cursor of a history page, when the server gives a usable one. */
function nextOf(o: Fields): { next?: number | null } {
  return o.next === null || isCount(o.next) ? { next: o.next } : {};
}

type LoggedIn = Extract<ServerMessage, { type: 'loggedin' }>;
type Resumed = Extract<ServerMessage, { type: 'resumed' }>;

/** Picks the known message out of a parsed object, or returns null if it is not one. */
function toServerMessage(o: Fields): ServerMessage | null {
  switch (o.type) {
    case 'newidentity':
      return isString(o.former) && isString(o.identity)
        ? { type: 'newidentity', former: o.former, identity: o.identity }
        : null;
    case 'roomchange':
      return isString(o.identity) && isString(o.former) && isString(o.roomid)
        ? { type: 'roomchange', identity: o.identity, former: o.former, roomid: o.roomid }
        : null;
    case 'roomcontents':
      return isString(o.roomid) && isStrings(o.identities) && isString(o.owner)
        ? { type: 'roomcontents', roomid: o.roomid, identities: o.identities, owner: o.owner }
        : null;
    case 'roomlist':
      return Array.isArray(o.rooms) && o.rooms.every(isRoomSummary)
        ? { type: 'roomlist', rooms: o.rooms.map((r) => ({ roomid: r.roomid, count: r.count })) }
        : null;
    case 'message':
      return toRoomMessage(o);
    case 'error':
      // Codes are strings in Switchboard; a numeric code from another server is still shown.
      return (isString(o.code) || typeof o.code === 'number') && isString(o.message)
        ? { type: 'error', code: String(o.code), message: o.message }
        : null;
    case 'registered':
      return isString(o.username) ? { type: 'registered', username: o.username } : null;
    case 'loggedin':
      return isString(o.identity) && isString(o.token)
        ? optional<LoggedIn>({ type: 'loggedin', identity: o.identity, token: o.token }, o, { admin: isBoolean })
        : null;
    case 'loggedout':
      return isString(o.identity) ? { type: 'loggedout', identity: o.identity } : null;
    case 'dm':
      return toDirectMessage(o);
    case 'history': {
      const messages = all(o.messages, toRoomMessage);
      return isString(o.roomid) && messages ? { type: 'history', roomid: o.roomid, messages, ...nextOf(o) } : null;
    }
    case 'dmhistory': {
      const messages = all(o.messages, toDirectMessage);
      return isString(o.with) && messages ? { type: 'dmhistory', with: o.with, messages, ...nextOf(o) } : null;
    }
    case 'resumed':
      return isString(o.roomid) && isCount(o.seq)
        ? optional<Resumed>({ type: 'resumed', roomid: o.roomid, seq: o.seq }, o, { epoch: isString })
        : null;
    case 'recalled':
      return isString(o.id) && isString(o.roomid) && isCount(o.seq) && isString(o.by)
        ? { type: 'recalled', id: o.id, roomid: o.roomid, seq: o.seq, by: o.by }
        : null;
    case 'blocklist':
      return isStrings(o.users) ? { type: 'blocklist', users: o.users } : null;
    case 'profile':
      return isString(o.username) && isString(o.status) && typeof o.dnd === 'boolean'
        ? { type: 'profile', username: o.username, status: o.status, dnd: o.dnd }
        : null;
    case 'presence':
      return Array.isArray(o.users) && o.users.every(isPresenceEntry)
        ? {
            type: 'presence',
            users: o.users.map((u) => ({ username: u.username, online: u.online, status: u.status, dnd: u.dnd, ...(isAwayEntry(u) ? { away: true } : {}) })),
          }
        : null;
    case 'session':
      return isString(o.token) && isCount(o.graceMs) ? { type: 'session', token: o.token, graceMs: o.graceMs } : null;
    case 'reclaimed':
      return isString(o.identity) && isString(o.roomid) ? { type: 'reclaimed', identity: o.identity, roomid: o.roomid } : null;
    case 'hello':
      return isStrings(o.capabilities) ? { type: 'hello', capabilities: o.capabilities, ...limitsOf(o.limits), ...httpOf(o.http) } : null;
    default:
      return toModerationMessage(o);
  }
}

/** The messages of the roles and moderation extension, or null. */
function toModerationMessage(o: Fields): ModerationMessage | null {
  const { roomid, identity, by } = o;
  switch (o.type) {
    case 'private':
      return isString(roomid) && typeof o.on === 'boolean' && isString(by) ? { type: 'private', roomid, on: o.on, by } : null;
    case 'invite':
    case 'uninvite':
    case 'unban':
      return isString(roomid) && isString(identity) && isString(by) ? { type: o.type, roomid, identity, by } : null;
    case 'kick':
      return isString(roomid) && isString(identity) && isString(by) && isString(o.reason)
        ? { type: 'kick', roomid, identity, by, reason: o.reason }
        : null;
    case 'ban': {
      const ban = toBanEntry(o);
      return isString(roomid) && ban ? { type: 'ban', roomid, ...ban } : null;
    }
    case 'roominfo': {
      const bans = all(o.bans, toBanEntry);
      return isString(roomid) && isString(o.owner) && typeof o.private === 'boolean' && isStrings(o.invited) && bans
        ? { type: 'roominfo', roomid, owner: o.owner, private: o.private, invited: o.invited, bans }
        : null;
    }
    case 'disconnected':
      return isString(identity) && isString(by) && isString(o.reason)
        ? { type: 'disconnected', identity, by, reason: o.reason }
        : null;
    case 'notice':
      return isString(o.from) && isString(o.content) && isCount(o.ts)
        ? { type: 'notice', from: o.from, content: o.content, ts: o.ts }
        : null;
    default:
      return null;
  }
}

/** Classifies one server line (without its newline). Never throws. */
export function decodeServerLine(line: string): ServerEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { kind: 'raw', line };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'raw', line };
  }
  const o = parsed as Fields;
  const message = toServerMessage(o);
  if (message) return { kind: 'known', message };
  return { kind: 'other', type: isString(o.type) ? o.type : '', line };
}

/** Encodes one client message as a protocol line, newline included. */
export function encodeClientMessage(message: ClientMessage): string {
  return JSON.stringify(message) + '\n';
}
