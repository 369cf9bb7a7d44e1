import type { ServerMessage } from '../protocol/messages';
import type { Effect, SessionKey } from './effects';
import { foldName } from '../protocol/rules';
import { RoomModes } from './room-modes';

/** A connected client as the room state knows it. */
export interface Session {
  key: SessionKey;
  identity: string;
  roomid: string;
  /** Rooms this guest session owns (seed-004 lifetime: they lose their owner when it leaves). */
  owned: Set<string>;
  /** The account this session is logged in as (its identity is then the username), or null. */
  username: string | null;
  /** A logged-in server administrator (config `admins` or granted in the store). */
  admin: boolean;
}

export interface Room {
  id: string;
  /** Owning guest session, or null. */
  owner: Session | null;
  /** Owning account: such a room is persistent and keeps its owner while they are away. */
  ownerUser: string | null;
  members: Set<Session>;
  /** How many members go by each folded identity (an account's devices share one): `roomlist` counts names. */
  names: Map<string, number>;
  modes: RoomModes;
}

export function newRoom(id: string, owner: Session | null): Room {
  return { id, owner, ownerUser: null, members: new Set(), names: new Map(), modes: new RoomModes() };
}

/** `session` becomes a member of `room`. */
export function enter(room: Room, session: Session): void {
  if (room.members.has(session)) return;
  room.members.add(session);
  countName(room, session.identity, +1);
}

/** `session` is no longer a member of `room`. */
export function exit(room: Room, session: Session): void {
  if (room.members.delete(session)) countName(room, session.identity, -1);
}

/** A member of `room` goes by `identity` one more (+1) or one fewer (-1) time. */
export function countName(room: Room, identity: string, delta: number): void {
  const folded = foldName(identity);
  const n = (room.names.get(folded) ?? 0) + delta;
  if (n > 0) room.names.set(folded, n);
  else room.names.delete(folded);
}

/**
 * How many members of `room` go by `identity` (in any case): an account's devices in the room,
 * 1 for a guest there, 0 when the name is not in the room.
 */
export function nameCount(room: Room, identity: string): number {
  return room.names.get(foldName(identity)) ?? 0;
}

/** The identity shown as the room's owner ('' for none). */
export function ownerName(room: Room): string {
  return room.ownerUser ?? room.owner?.identity ?? '';
}

export function isOwner(session: Session, room: Room): boolean {
  return room.owner === session || (room.ownerUser !== null && room.ownerUser === session.username);
}

export function deliver(to: Iterable<Session>, message: ServerMessage): Effect {
  return { kind: 'deliver', to: [...new Set(to)].map((s) => s.key), message };
}

export function send(fx: Effect[], session: Session, message: ServerMessage): void {
  fx.push(deliver([session], message));
}
