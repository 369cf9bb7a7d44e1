/**
 * What the client knows about itself: its identity, its room and the account it is logged in
 * as, all learnt only from the server's messages that concern it.
 */
import type { ServerMessage } from './wire';

/** The client's own view of its session. Empty strings mean "not known yet" / "none". */
export interface ViewState {
  /** Our current identity ("" until the welcome `newidentity`). */
  readonly identity: string;
  /** Our current room ("" before the first `roomchange`, and after leaving). */
  readonly room: string;
  /** True once the first `newidentity` (the server's welcome) has arrived. */
  readonly welcomed: boolean;
  /** The account we are logged in as ("" for a guest). */
  readonly account: string;
}

export const initialViewState: ViewState = { identity: '', room: '', welcomed: false, account: '' };

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
    case 'loggedin':
      // The room also sees a `newidentity` for the rename; whichever comes first, we are this.
      if (state.identity === message.identity && state.account === message.identity) return state;
      return { ...state, identity: message.identity, account: message.identity };
    case 'loggedout':
      if (state.identity === message.identity && state.account === '') return state;
      return { ...state, identity: message.identity, account: '' };
    default:
      return state;
  }
}
