import { askPresence } from './presence-events';
import { ChatSession } from './session';
import { canModerate, threadOf } from './state';

export type { ChatClientOptions } from './session';

/**
 * The protocol client of the web app: the session (ChatSession: one WebSocket link with
 * reconnect and restore, the state the views read) and the actions the views call. It has no
 * DOM dependency.
 */
export class ChatClient extends ChatSession {
  // ---- actions (called by the views) --------------------------------------------------------

  /** Signs in with a password. */
  login(username: string, password: string): void {
    this.signIn.login(username, password);
    this.changed();
  }

  /** Creates an account, then signs in with it. */
  register(username: string, password: string): void {
    this.signIn.register(username, password);
    this.changed();
  }

  /** Continues as a guest, optionally under a chosen name. */
  continueAsGuest(name: string): void {
    this.signIn.continueAsGuest(name);
    this.changed();
  }

  /** Signs out (the server's `loggedout` brings the sign-in screen back). */
  logout(): void {
    this.send({ type: 'logout' });
  }

  /** Moves to `roomid` and shows it. */
  join(roomid: string): void {
    this.membership.join(roomid);
    this.changed();
  }

  /** Creates `roomid` (invite only when `isPrivate`) and moves there once it exists. */
  createRoom(roomid: string, isPrivate: boolean): void {
    this.membership.create(roomid, isPrivate);
  }

  /** Deletes `roomid` (its owner or an administrator only: the server checks). */
  deleteRoom(roomid: string): void {
    this.send({ type: 'delete', roomid });
  }

  /** Sends to what is on screen: the room, or the open DM. */
  sendText(content: string, attachmentId?: string): void {
    const s = this.state;
    const extra = attachmentId ? { attachment: { id: attachmentId } } : {};
    if (s.view.kind === 'dm') this.send({ type: 'dm', to: s.view.peer, content, ...extra });
    else this.send({ type: 'message', content, ...extra });
  }

  /** Asks for the page before the oldest shown (room or DM). */
  loadOlder(): void {
    const s = this.state;
    if (s.view.kind === 'dm') this.directMessages.loadOlder(s.view.peer);
    else this.timelineSync.loadOlder(s.room);
  }

  /** Whether an older page is on its way for the current view. */
  loadingOlder(): boolean {
    const s = this.state;
    return s.view.kind === 'dm' ? this.directMessages.loadingOlder(s.view.peer) : this.timelineSync.loadingOlder(s.room);
  }

  /** Shows the DMs with `peer` (they count as read). */
  openDm(peer: string): void {
    this.directMessages.open(peer);
    this.changed();
  }

  /** The page became visible again: what is on screen is read now. */
  seen(): void {
    const s = this.state;
    s.hiddenUnread = 0;
    if (s.view.kind === 'dm') threadOf(s, s.view.peer).unread = 0;
    else this.unread.markRead();
    this.changed();
  }

  /** Sets the user's status line. */
  setStatus(text: string): void {
    this.send({ type: 'status', text });
  }

  /** Turns do-not-disturb on or off. */
  setDnd(on: boolean): void {
    this.send({ type: 'dnd', on });
  }

  /** Marks the user away or back (shown at once; a server without `away` says so and it is undone). */
  setAway(on: boolean): void {
    this.send({ type: 'away', on });
    this.state.away = on;
    this.changed();
  }

  /** Recalls one of the user's own messages or DMs by id. */
  recall(id: string): void {
    this.send({ type: 'recall', id });
  }

  /**
   * Blocks or unblocks `user`, then asks its presence again: the server shows a user blocked
   * either way as offline with no status (docs/PROTOCOL.md, presence), so the dot changes now.
   */
  block(user: string, on: boolean): void {
    this.send({ type: on ? 'block' : 'unblock', user });
    askPresence(this.context, [user]);
  }

  /** Adds or removes a contact, or asks for the list (the answer is a `contacts`). */
  contacts(action: 'add' | 'remove' | 'list', username?: string): void {
    this.send(username === undefined ? { type: 'contacts', action } : { type: 'contacts', action, username });
  }

  /** Searches usernames by prefix; "" clears the results. */
  search(prefix: string): void {
    if (prefix === '') {
      this.state.searchResults = [];
      this.changed();
      return;
    }
    this.send({ type: 'search', prefix });
  }

  /** A moderation request on the current room (kick, ban, invite, transfer, private, roominfo...). */
  moderate(type: string, fields: Record<string, unknown>): void {
    if (!canModerate(this.state)) return;
    this.send({ type, roomid: this.state.room, ...fields });
  }

  /** Removes a toast the user closed. */
  dismissToast(id: number): void {
    this.state.toasts = this.state.toasts.filter((t) => t.id !== id);
    this.changed();
  }
}
