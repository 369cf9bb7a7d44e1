/**
 * Pure rendering of server events as the human lines the terminal client shows.
 */
import type { ViewState } from './state';
import type { ServerEvent, ServerMessage } from './wire';

// C0 controls except TAB, DEL and C1 controls: a server must not be able to move the cursor,
// recolour the terminal or split one event over several lines.
const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** Makes server-supplied text safe to print on a terminal, escaping control characters. */
export function sanitize(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
  });
}

function formatMessage(message: ServerMessage, state: ViewState, target: string): string {
  switch (message.type) {
    case 'newidentity': {
      const identity = sanitize(message.identity);
      if (!state.welcomed) return `Connected to ${target} as ${identity}`;
      if (message.former === message.identity) return 'Requested identity invalid or in use';
      return `${sanitize(message.former)} is now ${identity}`;
    }
    case 'roomchange': {
      if (message.former === message.roomid) return 'The requested room is invalid or non existent';
      const who = sanitize(message.identity);
      if (message.former === '') return `${who} moves to ${sanitize(message.roomid)}`;
      if (message.roomid === '') return `${who} leaves ${sanitize(message.former)}`;
      return `${who} moves from ${sanitize(message.former)} to ${sanitize(message.roomid)}`;
    }
    case 'roomcontents': {
      const room = sanitize(message.roomid);
      if (message.identities.length === 0) return `${room} is empty`;
      const members = message.identities.map((id) =>
        sanitize(id) + (id === message.owner && message.owner !== '' ? '*' : ''),
      );
      return `${room} contains ${members.join(' ')}`;
    }
    case 'roomlist': {
      if (message.rooms.length === 0) return 'Rooms: none';
      return 'Rooms: ' + message.rooms.map((r) => `${sanitize(r.roomid)} ${r.count}`).join(', ');
    }
    case 'message':
      return `${sanitize(message.identity)}: ${sanitize(message.content)}`;
    case 'error':
      return `error ${sanitize(message.code)}: ${sanitize(message.message)}`;
  }
}

/**
 * The line to show for one server event.
 *
 * @param state  the client's state *before* the event (it tells the welcome from a rename)
 * @param target how the server was named on the command line, for the welcome line
 *
 * @example
 * formatServerEvent({ kind: 'known', message: { type: 'message', identity: 'bob', content: 'hi' } },
 *   state, '127.0.0.1:4444') // → 'bob: hi'
 */
export function formatServerEvent(event: ServerEvent, state: ViewState, target: string): string {
  switch (event.kind) {
    case 'known':
      return formatMessage(event.message, state, target);
    case 'other':
    case 'raw':
      // Unknown types and non-JSON lines are shown as they came, made terminal-safe.
      return sanitize(event.line);
  }
}

/** The interactive prompt, `[room] identity> `; empty until the server has welcomed us. */
export function promptFor(state: ViewState): string {
  if (!state.welcomed) return '';
  return `[${sanitize(state.room)}] ${sanitize(state.identity)}> `;
}

/** The line shown when the server closes the connection. */
export function formatDisconnect(lastEvent: ServerEvent | null): string {
  if (lastEvent && lastEvent.kind === 'known' && lastEvent.message.type === 'error') {
    const { code, message } = lastEvent.message;
    return `Disconnected by server: ${sanitize(message)} (${sanitize(code)})`;
  }
  return 'Disconnected by server';
}
