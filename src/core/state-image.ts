import type { RoomBanEntry } from '../protocol/messages';
import { MAIN_HALL, foldName } from '../protocol/rules';
import type { HeldSession } from './held-names';
import type { RoomModesSnapshot } from './room-modes';

/** A session as a state image keeps it: its room and owned rooms by id, not by reference. */
export interface SessionImage {
  key: string;
  identity: string;
  roomid: string;
  /** Rooms it owns as a guest, in the order it came to own them. */
  owned: string[];
  username: string | null;
  admin: boolean;
}

/** A room as a state image keeps it. */
export interface RoomImage {
  id: string;
  /** Key of the owning guest session, or null. */
  owner: string | null;
  /** The owning account, or null. */
  ownerUser: string | null;
  /** Member session keys, in the order they entered (`who` lists them so). */
  members: string[];
  /** Every rule as kept (expired bans included: they lapse when looked at, as on the original). */
  modes: RoomModesSnapshot;
}

/**
 * The whole of a ChatState, as plain data: what a cluster snapshot carries (src/cluster/snapshot.ts).
 * Orders are kept as they are in the state's maps and sets (sessions, rooms, members, holds),
 * since some replies follow them; everything else (the name index, the room order cache) is
 * derived again on load. Made by `ChatState.image`, put back by `ChatState.loadImage`.
 */
export interface ChatStateImage {
  sessions: SessionImage[];
  /** Every room, MainHall included. */
  rooms: RoomImage[];
  /** Registered usernames, as stored. */
  reserved: string[];
  /** Identities held for a resume token, oldest first. */
  held: HeldSession[];
  /** No guest number below this is free. */
  guestHint: number;
  /** Rooms each account owns: [username, count]. */
  roomsOfUser: Array<[string, number]>;
  /** Each online account's devices (session keys), oldest login first; absent in older images. */
  devices?: string[][];
  /** Accounts marked away (folded usernames); absent in older images. */
  away?: string[];
}

/**
 * Checks that `v` is a ChatStateImage whose parts agree with each other: every member, owner
 * and session room exists, each session is a member of exactly its room, identities are unique
 * (case-insensitively), guest owners own what they are said to. A snapshot that passes can be
 * loaded without leaving a state the chat rules never make. Throws an Error naming the first
 * problem (e.g. `chat.rooms[2].members[0]: no session "n1/1:4"`).
 */
export function checkChatStateImage(v: unknown, at = 'chat'): asserts v is ChatStateImage {
  const o = obj(v, at);
  const sessions = arr(o.sessions, `${at}.sessions`);
  const byKey = new Map<string, SessionImage>();
  /** Folded identity -> the account going by it (null: a guest): only an account's devices share a name. */
  const identities = new Map<string, string | null>();
  sessions.forEach((x, i) => {
    const w = `${at}.sessions[${i}]`;
    const s = obj(x, w);
    need(typeof s.key === 'string' && s.key.length > 0 && !byKey.has(s.key), `${w}.key`);
    const holder = typeof s.identity === 'string' ? identities.get(foldName(s.identity)) : undefined;
    const shared = holder !== undefined && holder !== null && typeof s.username === 'string' && foldName(s.username) === holder;
    need(typeof s.identity === 'string' && s.identity.length > 0 && (holder === undefined || shared), `${w}.identity`);
    need(typeof s.roomid === 'string', `${w}.roomid`);
    need(Array.isArray(s.owned) && s.owned.every((r) => typeof r === 'string'), `${w}.owned`);
    need(s.username === null || typeof s.username === 'string', `${w}.username`);
    need(typeof s.admin === 'boolean', `${w}.admin`);
    identities.set(foldName(s.identity as string), typeof s.username === 'string' ? foldName(s.username) : null);
    byKey.set(s.key as string, s as unknown as SessionImage);
  });
  const rooms = arr(o.rooms, `${at}.rooms`);
  const roomIds = new Set<string>();
  const ownerOf = new Map<string, string | null>();
  const memberOf = new Map<string, string>();
  rooms.forEach((x, i) => {
    const w = `${at}.rooms[${i}]`;
    const r = obj(x, w);
    need(typeof r.id === 'string' && r.id.length > 0 && !roomIds.has(r.id), `${w}.id`);
    roomIds.add(r.id as string);
    ownerOf.set(r.id as string, (r.owner as string | null) ?? null);
    need(r.owner === null || (typeof r.owner === 'string' && byKey.get(r.owner)?.owned.includes(r.id as string) === true), `${w}.owner`);
    need(r.ownerUser === null || typeof r.ownerUser === 'string', `${w}.ownerUser`);
    arr(r.members, `${w}.members`).forEach((k, j) => {
      need(typeof k === 'string' && byKey.get(k)?.roomid === r.id && !memberOf.has(k), `${w}.members[${j}]: no session ${JSON.stringify(k)} in this room`);
      memberOf.set(k as string, r.id as string);
    });
    checkModes(r.modes, `${w}.modes`);
  });
  need(roomIds.has(MAIN_HALL), `${at}.rooms: no ${MAIN_HALL}`);
  for (const [key, s] of byKey) {
    need(memberOf.get(key) === s.roomid, `${at}.sessions ${JSON.stringify(key)}: not a member of its room ${JSON.stringify(s.roomid)}`);
    for (const roomid of s.owned) need(ownerOf.get(roomid) === key, `${at}.sessions ${JSON.stringify(key)}: owns ${JSON.stringify(roomid)}, which it is not the owner of`);
  }
  need(arr(o.reserved, `${at}.reserved`).every((u) => typeof u === 'string'), `${at}.reserved`);
  arr(o.held, `${at}.held`).forEach((x, i) => {
    const w = `${at}.held[${i}]`;
    const h = obj(x, w);
    need(typeof h.identity === 'string' && typeof h.roomid === 'string' && typeof h.tokenHash === 'string', `${w}`);
    need(h.username === null || typeof h.username === 'string', `${w}.username`);
    need(Number.isFinite(h.until), `${w}.until`);
  });
  need(Number.isSafeInteger(o.guestHint) && (o.guestHint as number) >= 1, `${at}.guestHint`);
  need(
    arr(o.roomsOfUser, `${at}.roomsOfUser`).every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && Number.isSafeInteger(e[1]) && e[1] > 0),
    `${at}.roomsOfUser`,
  );
  if (o.devices !== undefined) {
    const seen = new Set<string>();
    arr(o.devices, `${at}.devices`).forEach((keys, i) => {
      const list = arr(keys, `${at}.devices[${i}]`);
      need(list.length > 0, `${at}.devices[${i}]`);
      const account = typeof list[0] === 'string' ? byKey.get(list[0])?.username : undefined;
      for (const k of list) {
        const s = typeof k === 'string' ? byKey.get(k) : undefined;
        need(s !== undefined && typeof account === 'string' && s.username !== null && foldName(s.username) === foldName(account) && !seen.has(k as string), `${at}.devices[${i}]: ${JSON.stringify(k)}`);
        seen.add(k as string);
      }
    });
    for (const [key, s] of byKey) need(s.username === null || seen.has(key), `${at}.devices: no entry for ${JSON.stringify(key)}`);
  }
  if (o.away !== undefined) need(arr(o.away, `${at}.away`).every((u) => typeof u === 'string'), `${at}.away`);
}

function checkModes(v: unknown, at: string): void {
  const m = obj(v, at);
  need(typeof m.private === 'boolean', `${at}.private`);
  need(arr(m.invited, `${at}.invited`).every((n) => typeof n === 'string'), `${at}.invited`);
  need(
    arr(m.bans, `${at}.bans`).every((b) => {
      const ban = b as Partial<RoomBanEntry> | null;
      return typeof ban === 'object' && ban !== null && typeof ban.identity === 'string' && typeof ban.by === 'string' && typeof ban.reason === 'string' && Number.isFinite(ban.until);
    }),
    `${at}.bans`,
  );
}

/** `v` as a plain object, or an Error naming where it is not one. */
export function obj(v: unknown, at: string): Record<string, unknown> {
  need(typeof v === 'object' && v !== null && !Array.isArray(v), `${at}: not an object`);
  return v as Record<string, unknown>;
}

/** `v` as an array, or an Error naming where it is not one. */
export function arr(v: unknown, at: string): unknown[] {
  need(Array.isArray(v), `${at}: not an array`);
  return v as unknown[];
}

/** Throws `bad <what>` unless `ok`. */
export function need(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bad ${what}`);
}
