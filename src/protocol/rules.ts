/** Naming rules of the seed-004 protocol, shared by server and clients. */

export const IDENTITY_PATTERN = /^[A-Za-z][A-Za-z0-9]{2,15}$/;
export const ROOM_ID_PATTERN = /^[A-Za-z][A-Za-z0-9]{2,31}$/;

/** The room every client starts in; it has no owner and is never deleted. */
export const MAIN_HALL = 'MainHall';

/** Prefix of the names given to clients on connect: guest1, guest2, ... */
export const GUEST_PREFIX = 'guest';

export function isValidIdentity(name: string): boolean {
  return IDENTITY_PATTERN.test(name);
}

export function isValidRoomId(roomid: string): boolean {
  return ROOM_ID_PATTERN.test(roomid);
}

/**
 * The key under which a name is unique: identities, usernames, invitations, bans and blocks
 * compare case-insensitively, as IRC nicknames do (RFC 2812 §2.2, ASCII case mapping; names
 * are ASCII letters and digits). The chosen spelling is kept for display; only comparisons fold.
 */
export function foldName(name: string): string {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]+/g, (upper) => upper.toLowerCase()) : name;
}
