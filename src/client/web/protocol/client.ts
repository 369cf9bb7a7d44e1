import { ChatSession } from './session';
import { canModerate, threadOf } from './state';
import { fold } from './types';

export { PAGE_SIZE, type ChatClientOptions } from './session';

/**
 * The protocol client of the web app: the session (ChatSession: one WebSocket link with
 * reconnect and restore, the state the views read) and the actions the views call. It has no
 * DOM dependency.
 */
export class ChatClient extends ChatSession {
  // ---- actions (called by the views) --------------------------------------------------------

  /** Signs in with a password. */
  login(username: string, password: string): void {
    this.authError = '';
    this.entered = false;
    this.send({ type: 'login', username, password });
    this.changed();
  }

  /** Creates an account, then signs in with it. */
  register(username: string, password: string): void {
    this.authError = '';
    this.pendingRegister = { username, password };
    this.send({ type: 'register', username, password });
    this.changed();
  }

  /** Continues as a guest, optionally under a chosen name. */
  continueAsGuest(name: string): void {
    if (name && name !== this.state.identity) this.send({ type: 'identitychange', identity: name });
    this.entered = true;
    this.changed();
  }

  logout(): void {
    this.send({ type: 'logout' });
  }

  join(roomid: string): void {
    this.requestJoin(roomid);
  }

  createRoom(roomid: string, isPrivate: boolean): void {
    this.pendingCreate = roomid;
    this.send(isPrivate ? { type: 'createroom', roomid, private: true } : { type: 'createroom', roomid });
  }

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
    if (s.view.kind === 'dm') {
      const t = threadOf(s, s.view.peer);
      if (typeof t.next === 'number' && (this.dmWaits.get(fold(t.peer)) ?? 0) === 0) this.requestDmPage(t.peer, true);
      return;
    }
    const t = s.timelines.get(s.room);
    if (!t || typeof t.next !== 'number') return;
    if ((this.historyWaits.get(s.room) ?? []).includes('page')) return;
    this.requestHistoryPage(s.room, t.next);
  }

  /** Whether an older page is on its way for the current view. */
  loadingOlder(): boolean {
    const s = this.state;
    if (s.view.kind === 'dm') return (this.dmWaits.get(fold(s.view.peer)) ?? 0) > 0;
    return (this.historyWaits.get(s.room) ?? []).includes('page');
  }

  openDm(peer: string): void {
    const s = this.state;
    const t = threadOf(s, peer);
    t.unread = 0;
    s.view = { kind: 'dm', peer: t.peer };
    if (t.next === undefined) this.requestDmPage(t.peer, false);
    if (s.username) this.saved.addDmPeer(s.username, t.peer);
    this.changed();
  }

  openRoom(): void {
    this.state.view = { kind: 'room' };
    this.markRead();
    this.changed();
  }

  /** The page became visible again: what is on screen is read now. */
  seen(): void {
    const s = this.state;
    s.hiddenUnread = 0;
    if (s.view.kind === 'dm') threadOf(s, s.view.peer).unread = 0;
    else this.markRead();
    this.changed();
  }

  setStatus(text: string): void {
    this.send({ type: 'status', text });
  }

  setDnd(on: boolean): void {
    this.send({ type: 'dnd', on });
  }

  setAway(on: boolean): void {
    this.send({ type: 'away', on });
    this.state.away = on;
    this.changed();
  }

  recall(id: string): void {
    this.send({ type: 'recall', id });
  }

  /**
   * Blocks or unblocks `user`, then asks its presence again: the server shows a user blocked
   * either way as offline with no status (docs/PROTOCOL.md, presence), so the dot changes now.
   */
  block(user: string, on: boolean): void {
    this.send({ type: on ? 'block' : 'unblock', user });
    this.askPresence([user]);
  }

  contacts(action: 'add' | 'remove' | 'list', username?: string): void {
    this.send(username === undefined ? { type: 'contacts', action } : { type: 'contacts', action, username });
  }

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

  dismissToast(id: number): void {
    this.state.toasts = this.state.toasts.filter((t) => t.id !== id);
    this.changed();
  }
}
