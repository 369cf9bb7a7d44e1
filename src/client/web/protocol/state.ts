import { DmThread, RoomTimeline } from './timeline';
import { fold, MAIN_HALL, type Presence } from './types';

/** The link to the server as the user sees it (the banner follows this). */
export type LinkState = 'connecting' | 'online' | 'reconnecting' | 'closed';

/** What the main pane shows: the current room, or the DMs with one peer. */
export type View = { kind: 'room' } | { kind: 'dm'; peer: string };

/** A transient line for the user: a refused request, a notice, a moderation event. */
export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

/**
 * Everything the views read. Mutated in place by the client (one owner), which then bumps
 * `version` and notifies subscribers: views re-render from it.
 */
export interface ChatState {
  version: number;
  link: LinkState;
  /** Why the link is closed for good (SESSION_REPLACED, DISCONNECTED...), else "". */
  closedReason: string;
  /** The server granted `extended` (our `hello` was answered). */
  extended: boolean;
  identity: string;
  /** Logged-in username, or "" for a guest. */
  username: string;
  /** The login token (for files' `Authorization: Bearer`), "" for a guest. */
  token: string;
  admin: boolean;
  /** The room this connection is in. */
  room: string;
  owner: string;
  members: string[];
  private: boolean;
  rooms: Array<{ roomid: string; count: number }>;
  /** Unread counts of rooms other than the current one (by probes of their newest seq). */
  roomUnread: Map<string, number>;
  timelines: Map<string, RoomTimeline>;
  /** DM threads by folded peer name. */
  dms: Map<string, DmThread>;
  view: View;
  /** Presence by folded name (contacts, room members asked about). */
  presence: Map<string, Presence>;
  /** Contacts (folded names), in the server's order. */
  contacts: string[];
  searchResults: string[];
  blocklist: string[];
  status: string;
  dnd: boolean;
  away: boolean;
  toasts: Toast[];
  /** Messages that came to the view on screen while the page was hidden (the title counts them). */
  hiddenUnread: number;
  /** The last `roominfo` answer for the current room, if asked. */
  roomInfo: { roomid: string; invited: string[]; bans: Array<{ identity: string; reason: string; until: number }> } | null;
}

/** A fresh state: connecting, nobody yet. */
export function initialState(): ChatState {
  return {
    version: 0,
    link: 'connecting',
    closedReason: '',
    extended: false,
    identity: '',
    username: '',
    token: '',
    admin: false,
    room: '',
    owner: '',
    members: [],
    private: false,
    rooms: [],
    roomUnread: new Map(),
    timelines: new Map(),
    dms: new Map(),
    view: { kind: 'room' },
    presence: new Map(),
    contacts: [],
    searchResults: [],
    blocklist: [],
    status: '',
    dnd: false,
    away: false,
    toasts: [],
    hiddenUnread: 0,
    roomInfo: null,
  };
}

/** The timeline of `roomid`, created empty on first use. */
export function timelineOf(state: ChatState, roomid: string): RoomTimeline {
  let t = state.timelines.get(roomid);
  if (!t) {
    t = new RoomTimeline();
    state.timelines.set(roomid, t);
  }
  return t;
}

/** The DM thread with `peer`, created empty on first use. */
export function threadOf(state: ChatState, peer: string): DmThread {
  const key = fold(peer);
  let t = state.dms.get(key);
  if (!t) {
    t = new DmThread(peer);
    state.dms.set(key, t);
  }
  return t;
}

/** The presence state shown as a dot: derived from `online`/`dnd` when the server has no `state`. */
export function presenceState(p: Presence | undefined): 'online' | 'away' | 'dnd' | 'offline' {
  if (!p) return 'offline';
  if (p.state) return p.state;
  if (!p.online) return 'offline';
  return p.dnd ? 'dnd' : 'online';
}

/** Whether the user may moderate the current room (its owner, or a server administrator). */
export function canModerate(state: ChatState): boolean {
  if (state.room === MAIN_HALL || state.room === '') return false;
  return state.admin || (state.owner !== '' && fold(state.owner) === fold(state.identity));
}

/** Total unread: rooms plus DMs (the tab title's count). */
export function totalUnread(state: ChatState): number {
  let n = state.hiddenUnread;
  for (const v of state.roomUnread.values()) n += v;
  for (const t of state.dms.values()) n += t.unread;
  return n;
}
