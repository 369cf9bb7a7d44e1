import type { ServerMessage } from '../protocol/messages';

/** Opaque handle of one connected client, unique across the node. */
export type SessionKey = string;

/**
 * What a state transition asks the outside world to do, in order. The hub turns these into
 * IPC frames; order matters because workers apply `state` before later deliveries.
 */
export type Effect =
  /** Send `message` to each listed session (the list is fixed when the effect is made). */
  | { kind: 'deliver'; to: SessionKey[]; message: ServerMessage }
  /** The session's identity, room or owned rooms changed, or it is gone: mirror it. */
  | { kind: 'state'; session: SessionKey }
  /** Close the session once what was sent before has been written. */
  | { kind: 'end'; session: SessionKey }
  /** A room owned by an account was created: store it. */
  | { kind: 'persist-room'; roomid: string; owner: string }
  /** A stored room's privacy, invitations or bans changed: store them as they are now. */
  | { kind: 'persist-room-modes'; roomid: string }
  /** A stored room was deleted. */
  | { kind: 'unpersist-room'; roomid: string }
  /** A new room now has this name: its sequence starts over in a new epoch. */
  | { kind: 'room-opened'; roomid: string }
  /** The room is gone (deleted or abandoned): its history goes with it. */
  | { kind: 'room-closed'; roomid: string }
  /**
   * The account came online (first device), went offline (last device) or away/back: its
   * contacts are told. `pair`: a block between the two changed: only they are (PresenceService.changed).
   */
  | { kind: 'presence'; username: string; pair?: string };

/**
 * The block list of a session that blocks nobody (most of them): one shared empty set in the
 * hub and in the workers, not one per session.
 */
export const NO_ONE: ReadonlySet<string> = new Set();

/** What a worker mirrors of each of its sessions, and re-registers after a hub restart. */
export interface SessionView {
  identity: string;
  roomid: string;
  owned: string[];
  /** The account the session is logged in as, or null for a guest. */
  username: string | null;
}
