/**
 * Pure rendering of server events as the human lines the terminal client shows.
 */
import { clock, sanitize } from './display-text';
import { formatPresenceLine } from './presence-format';
import { formatModeration } from './format-moderation';
import type { ViewState } from './state';
import { formatBytes } from './byte-size';
import type { DirectMessage, PresenceEntry, RoomMessage, ServerEvent, ServerMessage, WireAttachment } from './wire';

export { clock, sanitize } from './display-text';

/** How a message id is shown: its last 8 characters, enough to tell recent messages apart. */
export function shortId(id: string): string {
  return id.length <= 8 ? id : id.slice(-8);
}

/** The ` [id]` after a line that can be recalled; empty when the server gave no id. */
function idTag(id: string | undefined): string {
  return id === undefined ? '' : ` [${sanitize(shortId(id))}]`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function contentOf(message: { content: string; recalled?: boolean; attachment?: WireAttachment }): string {
  if (message.recalled) return '(recalled)';
  const file = message.attachment;
  if (!file) return sanitize(message.content);
  // The whole id: `/get ID` takes it (src/client/terminal/transfer.ts).
  const card = `[file ${sanitize(file.name)}, ${formatBytes(file.size)}, ${sanitize(file.type)}: ${sanitize(file.id)}]`;
  return message.content === '' ? card : `${sanitize(message.content)} ${card}`;
}

/** A room message: `alice: hi`, and ` [id]` if `withId`. */
export function formatRoomMessage(message: RoomMessage, withId: boolean): string {
  const line = `${sanitize(message.identity)}: ${contentOf(message)}`;
  return withId ? line + idTag(message.id) : line;
}

/** A direct message: `[dm] alice -> bob: hi` (`[dm offline]` from the inbox), and ` [id]` if `withId`. */
export function formatDirectMessage(message: DirectMessage, withId: boolean): string {
  const kind = message.inbox === undefined ? '[dm]' : '[dm offline]';
  const line = `${kind} ${sanitize(message.from)} -> ${sanitize(message.to)}: ${contentOf(message)}`;
  return withId ? line + idTag(message.id) : line;
}

function formatPresence(user: PresenceEntry): string {
  const parts = [user.online ? 'online' : 'offline'];
  if (user.away) parts.push('away');
  if (user.dnd) parts.push('dnd');
  if (user.status !== '') parts.push(`"${sanitize(user.status)}"`);
  return `${sanitize(user.username)}: ${parts.join(', ')}`;
}

function formatMessage(message: ServerMessage, state: ViewState, target: string, reconnected: boolean): string[] {
  switch (message.type) {
    case 'newidentity': {
      const identity = sanitize(message.identity);
      if (!state.welcomed) return [`${reconnected ? 'Reconnected' : 'Connected'} to ${target} as ${identity}`];
      if (message.former === message.identity) return ['Requested identity invalid or in use'];
      return [`${sanitize(message.former)} is now ${identity}`];
    }
    case 'roomchange': {
      if (message.former === message.roomid) return ['The requested room is invalid or non existent'];
      const who = sanitize(message.identity);
      if (message.former === '') return [`${who} moves to ${sanitize(message.roomid)}`];
      if (message.roomid === '') return [`${who} leaves ${sanitize(message.former)}`];
      return [`${who} moves from ${sanitize(message.former)} to ${sanitize(message.roomid)}`];
    }
    case 'roomcontents': {
      const room = sanitize(message.roomid);
      if (message.identities.length === 0) return [`${room} is empty`];
      const members = message.identities.map((id) =>
        sanitize(id) + (id === message.owner && message.owner !== '' ? '*' : ''),
      );
      // The legend says what the star is, once per line that has one.
      const legend = message.owner !== '' && message.identities.includes(message.owner) ? ' (* owner)' : '';
      return [`${room} contains ${members.join(' ')}${legend}`];
    }
    case 'roomlist': {
      if (message.rooms.length === 0) return ['Rooms: none'];
      return ['Rooms: ' + message.rooms.map((r) => `${sanitize(r.roomid)} ${r.count}`).join(', ')];
    }
    case 'message':
      // Our own messages show their id: they are the ones we may recall.
      return [formatRoomMessage(message, message.identity === state.identity)];
    case 'error':
      return [`error ${sanitize(message.code)}: ${sanitize(message.message)}`];
    case 'registered':
      return [`Registered ${sanitize(message.username)}`];
    case 'loggedin':
      return [`Logged in as ${sanitize(message.identity)}${message.admin ? ' (administrator)' : ''}`];
    case 'loggedout':
      return [`Logged out; now ${sanitize(message.identity)}`];
    case 'dm':
      return [formatDirectMessage(message, message.from === state.identity)];
    case 'history':
      // History lines always carry their id, so that any of them can be named to #recall.
      return [
        `History of ${sanitize(message.roomid)}: ${plural(message.messages.length, 'message')}`,
        ...message.messages.map((m) => `${dateClock(m.ts)} ${formatRoomMessage(m, true)}`),
      ];
    case 'dmhistory':
      return [
        `Direct messages with ${sanitize(message.with)}: ${plural(message.messages.length, 'message')}`,
        ...message.messages.map((m) => `${dateClock(m.ts)} ${formatDirectMessage(m, true)}`),
      ];
    case 'resumed':
      return []; // the end of a replay the client asked for itself
    case 'session':
    case 'reclaimed':
      return []; // reconnection bookkeeping: the renames and moves it causes are shown
    case 'recalled':
      return [`message ${sanitize(shortId(message.id))} recalled by ${sanitize(message.by)}`];
    case 'blocklist':
      return [message.users.length === 0 ? 'You have blocked no one.' : `You block: ${message.users.map(sanitize).join(', ')}`];
    case 'profile': {
      const status = message.status === '' ? 'no status' : `status "${sanitize(message.status)}"`;
      return [`Profile of ${sanitize(message.username)}: dnd ${message.dnd ? 'on' : 'off'}, ${status}`];
    }
    case 'presence':
      return message.users.length === 0 ? ['Presence: nobody'] : message.users.map(formatPresence);
    case 'private':
    case 'invite':
    case 'uninvite':
    case 'kick':
    case 'ban':
    case 'unban':
    case 'roominfo':
    case 'disconnected':
    case 'notice':
      return formatModeration(message, state.identity);
    case 'hello':
      // The answer to the hello we send on connecting: nothing for the user.
      return [];
  }
}

/**
 * The lines to show for one server event (none for some, several for a history).
 *
 * @param state  the client's state *before* the event (it tells the welcome from a rename,
 *               and our own messages from others')
 * @param target how the server was named on the command line, for the welcome line
 * @param reconnected the welcome follows an automatic reconnection
 *
 * @example
 * formatServerEvent({ kind: 'known', message: { type: 'message', identity: 'bob', content: 'hi' } },
 *   state, '127.0.0.1:4444') // → ['bob: hi']
 */
export function formatServerEvent(event: ServerEvent, state: ViewState, target: string, reconnected = false): string[] {
  switch (event.kind) {
    case 'known':
      return formatMessage(event.message, state, target, reconnected);
    case 'other':
    case 'raw':
      // Unknown types and non-JSON lines are shown as they came, made terminal-safe.
      return (event.kind === 'other' ? formatPresenceLine(event.type, event.line, sanitize) : null) ?? [sanitize(event.line)];
  }
}

/** The interactive prompt, `[room] identity> `; empty until the server has welcomed us. */
export function promptFor(state: ViewState): string {
  if (!state.welcomed) return '';
  // Between the welcome's name and its move to MainHall: no room yet, no empty brackets.
  if (state.room === '') return `${sanitize(state.identity)}> `;
  return `[${sanitize(state.room)}] ${sanitize(state.identity)}> `;
}

/**
 * What a server that closes before its first line means: it refuses the connection at
 * admission, which it does without a word (a client has not declared itself yet then).
 */
export const REFUSED_AT_CONNECT =
  'Disconnected by server before its welcome: it may be full, have too many connections from this address, or be shutting down; or this is its TLS port (then connect with --tls)';

/** The hint for a plain client talking to a TLS port. */
export const TLS_PORT_HINT = 'Connect to it with --tls (and --ca FILE if its certificate is self-signed), or use the server\'s plain port.';

/** Said when a server answers in HTTP: the client was pointed at its web port (`address`: HOST:PORT). */
export function httpPortHint(address: string): string {
  return `The server at ${address} answered in HTTP: this is its web port (open http://${address}/ in a browser). The chat port is another: the server's banner names it ("Switchboard listening on HOST:PORT").`;
}

/** `YYYY-MM-DD HH:MM` in local time (history lines: they may be of another day), `----------  --:--` when unknown. */
export function dateClock(ts: number | undefined): string {
  if (ts === undefined) return '---------- --:--';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '---------- --:--';
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${clock(ts)}`;
}

/**
 * The line shown when the server closes the connection.
 *
 * @param welcomed the server had started its welcome on this connection
 */
export function formatDisconnect(lastEvent: ServerEvent | null, welcomed = true): string {
  if (lastEvent && lastEvent.kind === 'known' && lastEvent.message.type === 'error') {
    const { code, message } = lastEvent.message;
    return `Disconnected by server: ${sanitize(message)} (${sanitize(code)})`;
  }
  return lastEvent === null && !welcomed ? REFUSED_AT_CONNECT : 'Disconnected by server';
}

/** Seconds for the user, e.g. `0.3s`. */
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** The line shown when the connection is gone and a reconnection is scheduled. */
export function formatReconnecting(lastEvent: ServerEvent | null, delayMs: number, welcomed = true): string {
  const why = formatDisconnect(lastEvent, welcomed);
  const head = why === 'Disconnected by server' ? 'Connection lost' : why;
  return `${head}; reconnecting in ${seconds(delayMs)}…`;
}

/** The line shown when a reconnection attempt failed and another is scheduled. */
export function formatRetry(error: Error, delayMs: number): string {
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  return `Reconnect failed (${sanitize(code)}); retrying in ${seconds(delayMs)}…`;
}
