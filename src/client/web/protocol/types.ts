/**
 * The shapes of the protocol messages the web app reads and sends (docs/PROTOCOL.md; files,
 * devices and contacts per the issue-11 contracts). Only the fields the app uses are typed;
 * the server may add more, which are ignored.
 */

/** A file attached to a message, as the server relays it (never the client's own claim): the server's own type. */
import type { Attachment, DirectMessageOut, RoomMessageOut } from '../../../protocol/messages';
export type { Attachment };

/** A room message (`message`, live or in `history`/`resume`): the server's own type. */
export type RoomMessage = RoomMessageOut;

/** A direct message; `inbox` is set when it comes from the offline inbox: the server's own type. */
export type DirectMessage = DirectMessageOut;

/** One user's presence (`presence`, `contacts`, `presencechange`). */
export interface Presence {
  username: string;
  online: boolean;
  /** Absent from servers without the devices feature: derived from online/dnd then. */
  state?: 'online' | 'away' | 'dnd' | 'offline';
  status: string;
  dnd: boolean;
}

/** Every server message the app acts on, discriminated by `type`. */
export type ServerMessage =
  | { type: 'hello'; capabilities: string[] }
  | { type: 'newidentity'; former: string; identity: string }
  | { type: 'roomchange'; identity: string; former: string; roomid: string }
  | { type: 'roomcontents'; roomid: string; identities: string[]; owner: string }
  | { type: 'roomlist'; rooms: Array<{ roomid: string; count: number }> }
  | RoomMessage
  | DirectMessage
  | { type: 'error'; code: string; message: string }
  | { type: 'registered'; username: string }
  | { type: 'loggedin'; identity: string; token: string; admin: boolean }
  | { type: 'loggedout'; identity: string }
  | { type: 'history'; roomid: string; epoch: string; messages: RoomMessage[]; next: number | null }
  | { type: 'resumed'; roomid: string; seq: number; epoch: string; more: boolean }
  | { type: 'recalled'; id: string; roomid: string; seq: number; by: string; epoch: string }
  | { type: 'dmhistory'; with: string; messages: DirectMessage[]; next: number | null }
  | { type: 'blocklist'; users: string[] }
  | { type: 'profile'; username: string; status: string; dnd: boolean; inbox?: number; away?: boolean }
  | { type: 'presence'; users: Presence[] }
  | { type: 'session'; token: string; graceMs: number }
  | { type: 'reclaimed'; identity: string; roomid: string }
  | { type: 'pong' }
  | { type: 'private'; roomid: string; on: boolean; by: string }
  | { type: 'invite'; roomid: string; identity: string; by: string }
  | { type: 'uninvite'; roomid: string; identity: string; by: string }
  | { type: 'kick'; roomid: string; identity: string; by: string; reason: string }
  | { type: 'ban'; roomid: string; identity: string; by: string; reason: string; until: number }
  | { type: 'unban'; roomid: string; identity: string; by: string }
  | { type: 'roominfo'; roomid: string; owner: string; private: boolean; invited: string[]; bans: Array<{ identity: string; by: string; reason: string; until: number }> }
  | { type: 'disconnected'; identity: string; by: string; reason: string }
  | { type: 'notice'; from: string; content: string; ts: number }
  | { type: 'contacts'; contacts: Presence[] }
  | ({ type: 'presencechange' } & Presence)
  | { type: 'search'; prefix: string; users: string[] };

/** A request the app sends; loosely typed beyond `type` (the server validates every field). */
export interface ClientRequest {
  type: string;
  [field: string]: unknown;
}

/** The room every connection starts in; it has no owner and cannot be deleted. */
export const MAIN_HALL = 'MainHall';

/**
 * Parses one WebSocket text frame into a server message; null for anything that is not a JSON
 * object with a string `type` (the app ignores it rather than failing).
 */
export function parseServerFrame(text: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  if (typeof (value as { type?: unknown }).type !== 'string') return null;
  return value as ServerMessage;
}

/** Case-folded name, for comparing identities and usernames (they are ASCII, case-insensitive). */
export function fold(name: string): string {
  return name.toLowerCase();
}
