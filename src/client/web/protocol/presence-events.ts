import type { SessionContext } from './session-context';
import { fold, type ServerMessage } from './types';

/** At most this many names per `presence` request. */
const PRESENCE_BATCH = 100;

/** Asks the presence of `names` (the first 100); only of a server that granted `extended`. */
export function askPresence(session: SessionContext, names: string[]): void {
  if (names.length === 0 || !session.state.extended) return;
  session.send({ type: 'presence', users: names.slice(0, PRESENCE_BATCH) });
}

/**
 * The server messages about people (PROTOCOL.md presence, contacts, profile, block, search):
 * presence dots, the contact list, the user's own status, the block list and search results.
 * Other message types are left alone.
 */
export function applyPresence(session: SessionContext, msg: ServerMessage): void {
  const s = session.state;
  switch (msg.type) {
    case 'presence':
      for (const p of msg.users) s.presence.set(fold(p.username), p);
      adoptOwnPresence(session);
      return;
    case 'contacts':
      s.contacts = msg.contacts.map((p) => p.username);
      for (const p of msg.contacts) s.presence.set(fold(p.username), p);
      return;
    case 'presencechange': {
      const { type: _t, ...p } = msg;
      s.presence.set(fold(p.username), p);
      return;
    }
    case 'profile':
      s.status = msg.status;
      s.dnd = msg.dnd;
      if (typeof msg.away === 'boolean') s.away = msg.away;
      return;
    case 'blocklist':
      s.blocklist = msg.users;
      return;
    case 'search':
      s.searchResults = msg.users;
      return;
    default:
      return;
  }
}

/** The signed-in user's own presence, as another device set it: the status controls follow. */
function adoptOwnPresence(session: SessionContext): void {
  const s = session.state;
  const me = s.presence.get(fold(s.username));
  if (me && s.username) {
    s.status = me.status;
    s.dnd = me.dnd;
    if (me.state) s.away = me.state === 'away';
  }
}
