/**
 * The seed-004 wire protocol as the terminal client sees it: the message types, a lenient
 * decoder for server lines and an encoder for client messages.
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

/** The server → client messages the client understands. */
export type ServerMessage =
  | { type: 'newidentity'; former: string; identity: string }
  | { type: 'roomchange'; identity: string; former: string; roomid: string }
  | { type: 'roomcontents'; roomid: string; identities: string[]; owner: string }
  | { type: 'roomlist'; rooms: RoomSummary[] }
  | { type: 'message'; identity: string; content: string }
  | { type: 'error'; code: string; message: string };

/** The client → server messages. */
export type ClientMessage =
  | { type: 'identitychange'; identity: string }
  | { type: 'join'; roomid: string }
  | { type: 'who'; roomid: string }
  | { type: 'list' }
  | { type: 'createroom'; roomid: string }
  | { type: 'delete'; roomid: string }
  | { type: 'message'; content: string }
  | { type: 'quit' };

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

function isRoomSummary(v: unknown): v is RoomSummary {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Fields;
  return isString(r.roomid) && typeof r.count === 'number';
}

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
      return isString(o.roomid) && Array.isArray(o.identities) && o.identities.every(isString) &&
        isString(o.owner)
        ? { type: 'roomcontents', roomid: o.roomid, identities: o.identities, owner: o.owner }
        : null;
    case 'roomlist':
      return Array.isArray(o.rooms) && o.rooms.every(isRoomSummary)
        ? { type: 'roomlist', rooms: o.rooms.map((r) => ({ roomid: r.roomid, count: r.count })) }
        : null;
    case 'message':
      return isString(o.identity) && isString(o.content)
        ? { type: 'message', identity: o.identity, content: o.content }
        : null;
    case 'error':
      // Codes are strings in Switchboard; a numeric code from another server is still shown.
      return (isString(o.code) || typeof o.code === 'number') && isString(o.message)
        ? { type: 'error', code: String(o.code), message: o.message }
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
