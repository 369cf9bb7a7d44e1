import type { ErrorCode } from './errors';

/**
 * The wire messages, as discriminated unions on `type`. The core (seed 004) is unchanged;
 * accounts, direct messages and history are new types and extra fields only.
 * Server messages always carry every field; "none" is the empty string.
 */

/** The seed-004 requests. */
export type CoreClientMessage =
  | { type: 'identitychange'; identity: string }
  | { type: 'join'; roomid: string }
  | { type: 'who'; roomid: string }
  | { type: 'list' }
  | { type: 'createroom'; roomid: string; private?: boolean }
  | { type: 'delete'; roomid: string }
  | { type: 'message'; content: string; attachment?: AttachmentRef }
  | { type: 'quit' };

/** Accounts, direct messages, history and the rest. */
export type AccountClientMessage =
  | { type: 'register'; username: string; password: string }
  | { type: 'login'; username?: string; password?: string; token?: string }
  | { type: 'logout' }
  | { type: 'dm'; to: string; content: string; attachment?: AttachmentRef }
  | { type: 'history'; roomid: string; before?: number; limit?: number }
  | { type: 'dmhistory'; with: string; before?: number; cursor?: number; limit?: number }
  | { type: 'resume'; roomid: string; since: number; limit?: number; epoch?: string }
  | { type: 'recall'; id: string }
  | { type: 'ack'; inbox: number }
  | { type: 'block'; user: string }
  | { type: 'unblock'; user: string }
  | { type: 'dnd'; on: boolean }
  | { type: 'status'; text: string }
  | { type: 'presence'; users: string[] }
  /** Devices, contacts and presence (docs/PROTOCOL.md): `username` is required for add and remove. */
  | { type: 'contacts'; action: 'add' | 'remove' | 'list'; username?: string }
  | { type: 'search'; prefix: string }
  | { type: 'away'; on: boolean }
  /** The requester's block list, answered with `blocklist` (docs/PROTOCOL.md, "block, unblock"). */
  | { type: 'blocklist' };

/** Moderation by a room's owner or a server administrator (docs/PROTOCOL.md, Roles). */
export type ModerationClientMessage =
  | { type: 'private'; roomid: string; on: boolean }
  | { type: 'invite'; roomid: string; identity: string }
  | { type: 'uninvite'; roomid: string; identity: string }
  | { type: 'kick'; roomid: string; identity: string; reason?: string }
  | { type: 'ban'; roomid: string; identity: string; seconds?: number; reason?: string }
  | { type: 'unban'; roomid: string; identity: string }
  | { type: 'roominfo'; roomid: string }
  | { type: 'transfer'; roomid: string; identity: string }
  | { type: 'disconnect'; identity: string; reason?: string }
  | { type: 'notice'; content: string };

/**
 * Connection upkeep, answered by the worker itself: `ping` gets `pong` (keeps `idleTimeoutMs` at
 * bay); `hello` declares the client's capabilities and makes the connection extended
 * (src/protocol/capabilities.ts).
 */
export type SessionClientMessage = { type: 'ping' } | { type: 'hello'; capabilities: string[] };

/**
 * Getting a dropped session back (docs/PROTOCOL.md, Reconnecting): `session` asks for this
 * connection's resume token (answered `session`); `reclaim` presents a dropped connection's
 * token (answered `reclaimed`, or an error).
 */
export type ResumeClientMessage = { type: 'session' } | { type: 'reclaim'; token: string };

export type ClientMessage = CoreClientMessage | AccountClientMessage | ModerationClientMessage | ResumeClientMessage | SessionClientMessage;

export type ClientMessageType = ClientMessage['type'];

/** The client requests the hub decides; `message` travels on its own fast path, `ping` stays in the worker. */
export type ControlRequest = Exclude<ClientMessage, { type: 'message' } | SessionClientMessage> | AttachedMessage;

/**
 * A room message carrying a file (docs/PROTOCOL.md, "Files and attachments"): it goes to the
 * hub as a request (the hub looks the file up), not on the chat fast path.
 */
export interface AttachedMessage {
  type: 'message';
  content: string;
  attachment: AttachmentRef;
}

/** The seed-004 requests the room state answers by itself. */
export type CoreControlRequest = Exclude<CoreClientMessage, { type: 'message' }>;

export interface RoomListEntry {
  roomid: string;
  count: number;
}

/** A room message as broadcast, stored and replayed. */
export interface RoomMessageOut {
  type: 'message';
  identity: string;
  content: string;
  roomid: string;
  id: string;
  seq: number;
  ts: number;
  /** The room's epoch: `seq` counts within it (docs/PROTOCOL.md, "Epochs"). */
  epoch: string;
  recalled?: boolean;
  /** The file it carries, as the server stored it; absent when none or recalled. */
  attachment?: Attachment;
}

export interface DirectMessageOut {
  type: 'dm';
  id: string;
  from: string;
  to: string;
  content: string;
  ts: number;
  /** Set on messages from the offline inbox: acknowledge with `{"type":"ack","inbox":N}`. */
  inbox?: number;
  recalled?: boolean;
  /** The file it carries, as the server stored it; absent when none or recalled. */
  attachment?: Attachment;
}

/** What a client names when it attaches a file: the `id` an upload answered. */
export interface AttachmentRef {
  id: string;
}

/**
 * A file as relayed on a message: the server's own record, never the sender's claim.
 * `id`: hex SHA-256 of the bytes; `name`: the uploader's file name; `size`: bytes; `type`: the
 * MIME type sniffed from the bytes; `thumbnail`: GET /files/<id>/thumbnail serves one.
 */
export interface Attachment {
  id: string;
  name: string;
  size: number;
  type: string;
  thumbnail: boolean;
}

export interface RoomBanEntry {
  identity: string;
  by: string;
  reason: string;
  /** Milliseconds since the epoch; 0: until `unban`. */
  until: number;
}

/** One name of a `presence` reply: the same shape as a contact's Presence. */
export type PresenceEntry = Presence;

/** An account's presence as its contacts see it (docs/PROTOCOL.md, "Devices, contacts and presence"). */
export interface Presence {
  username: string;
  /** At least one device logged in. */
  online: boolean;
  /** offline when no device is; else dnd, away or online (in that precedence). */
  state: 'online' | 'away' | 'dnd' | 'offline';
  status: string;
  dnd: boolean;
}

export type ServerMessage =
  | { type: 'newidentity'; former: string; identity: string }
  | { type: 'roomchange'; identity: string; former: string; roomid: string }
  | { type: 'roomcontents'; roomid: string; identities: string[]; owner: string }
  | { type: 'roomlist'; rooms: RoomListEntry[] }
  | RoomMessageOut
  | { type: 'error'; code: ErrorCode | string; message: string }
  | { type: 'registered'; username: string }
  | { type: 'loggedin'; identity: string; token: string; admin: boolean }
  | { type: 'loggedout'; identity: string }
  | DirectMessageOut
  /** `next`: the `before` of the next (older) page; null when there is none. */
  | { type: 'history'; roomid: string; epoch: string; messages: RoomMessageOut[]; next: number | null }
  /** `next`: the `cursor` of the next (older) page; null when there is none. */
  | { type: 'dmhistory'; with: string; messages: DirectMessageOut[]; next: number | null }
  /** `seq`: the next `since`; `more`: stopped by `limit` (or the scan bound) before the newest. */
  | { type: 'resumed'; roomid: string; seq: number; epoch: string; more: boolean }
  | { type: 'recalled'; id: string; roomid: string; seq: number; by: string; epoch: string }
  | { type: 'blocklist'; users: string[] }
  /** `inbox`: DMs waiting in the account's inbox (not yet acknowledged); on the owner's own profile. */
  | { type: 'profile'; username: string; status: string; dnd: boolean; inbox: number }
  | { type: 'presence'; users: PresenceEntry[] }
  | { type: 'private'; roomid: string; on: boolean; by: string }
  | { type: 'invite'; roomid: string; identity: string; by: string }
  | { type: 'uninvite'; roomid: string; identity: string; by: string }
  | { type: 'kick'; roomid: string; identity: string; by: string; reason: string }
  | { type: 'ban'; roomid: string; identity: string; by: string; reason: string; until: number }
  | { type: 'unban'; roomid: string; identity: string; by: string }
  | { type: 'roominfo'; roomid: string; owner: string; private: boolean; invited: string[]; bans: RoomBanEntry[] }
  | { type: 'disconnected'; identity: string; by: string; reason: string }
  | { type: 'notice'; from: string; content: string; ts: number }
  /** This connection's resume token, and how long its identity is held if it drops (ms). */
  | { type: 'session'; token: string; graceMs: number }
  /** A `reclaim` succeeded: the identity and room the connection now has. */
  | { type: 'reclaimed'; identity: string; roomid: string }
  | { type: 'pong' }
  | { type: 'hello'; capabilities: string[] }
  /** The whole contact list with each contact's presence (after a change, on `list`, and at login). */
  | { type: 'contacts'; contacts: Presence[] }
  | { type: 'search'; prefix: string; users: string[] }
  /** A contact's presence changed. */
  | ({ type: 'presencechange' } & Presence);
