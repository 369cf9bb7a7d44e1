/**
 * What the client knows about itself: its identity and its room, both learnt only from the
 * server's `newidentity` and `roomchange` messages that concern it.
 */
import type { ServerMessage } from './wire';

/** The client's own view of its session. Empty strings mean "not known yet" / "no room". */
export interface ViewState {
  /** Our current identity ("" until the welcome `newidentity`). */
  readonly identity: string;
  /** Our current room ("" before the first `roomchange`, and after leaving). */
  readonly room: string;
  /** True once the first `newidentity` (the server's welcome) has arrived. */
  readonly welcomed: boolean;
}

export const initialViewState: ViewState = { identity: '', room: '', welcomed: false };

/** Returns the state after `message`; messages about other clients leave it unchanged. */
export function applyServerMessage(state: ViewState, message: ServerMessage): ViewState {
  switch (message.type) {
    case 'newidentity':
      if (!state.welcomed) return { ...state, identity: message.identity, welcomed: true };
      // former == identity is a refusal: nothing changes.
      if (message.former === state.identity && message.former !== message.identity) {
        return { ...state, identity: message.identity };
      }
      return state;
    case 'roomchange':
      // former == roomid is a refused join: nothing changes.
      if (message.identity === state.identity && message.former !== message.roomid) {
        return { ...state, room: message.roomid };
      }
      return state;
    default:
      return state;
  }
}
