/**
 * The wire messages of the core protocol (seed 004), as discriminated unions on `type`.
 * Server messages always carry every field; "none" is the empty string.
 */

export type ClientMessage =
  | { type: 'identitychange'; identity: string }
  | { type: 'join'; roomid: string }
  | { type: 'who'; roomid: string }
  | { type: 'list' }
  | { type: 'createroom'; roomid: string }
  | { type: 'delete'; roomid: string }
  | { type: 'message'; content: string }
  | { type: 'quit' };

export type ClientMessageType = ClientMessage['type'];

/** The client requests the hub decides; `message` travels on its own fast path. */
export type ControlRequest = Exclude<ClientMessage, { type: 'message' }>;

export interface RoomListEntry {
  roomid: string;
  count: number;
}

export type ServerMessage =
  | { type: 'newidentity'; former: string; identity: string }
  | { type: 'roomchange'; identity: string; former: string; roomid: string }
  | { type: 'roomcontents'; roomid: string; identities: string[]; owner: string }
  | { type: 'roomlist'; rooms: RoomListEntry[] }
  | { type: 'message'; identity: string; content: string };
