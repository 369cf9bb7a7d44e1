/**
 * Says in words what the server's replies mean for the requests this client sent: one clear
 * sentence per refusal (the client knows what it asked, the room rules of docs/PROTOCOL.md,
 * and the error code when there is one), and what happened to a room (a new owner, a room
 * closed under us). Pure apart from the clock it is given: knows nothing of sockets or screens.
 */
import { replyMatcher } from './commands';
import { sanitize } from './display-text';
import { MAIN_HALL } from './reconnect';
import type { ClientMessage, ServerMessage } from './wire';

/** Room names of the core protocol (src/protocol/rules.ts): the client's own copy. */
const ROOM_ID_PATTERN = /^[A-Za-z][A-Za-z0-9]{2,31}$/;

/** Identities of the core protocol (src/protocol/rules.ts). */
const IDENTITY_PATTERN = /^[A-Za-z][A-Za-z0-9]{2,15}$/;

/** Errors that follow a seed refusal to say why (docs/PROTOCOL.md, "Core and extended clients"). */
const FOLLOW_UP_CODES = new Set(['INVITE_ONLY', 'BANNED', 'TOO_MANY_ROOMS', 'STORE_FAILED']);

/** Errors that close the connection: the reason of the close, not an answer to a request. */
const CLOSING_CODES = new Set([
  'LINE_TOO_LONG', 'FLOODING', 'SLOW_CONSUMER', 'LINE_TIMEOUT', 'FIRST_MESSAGE_TIMEOUT', 'IDLE_TIMEOUT',
  'DISCONNECTED', 'SHUTTING_DOWN', 'SESSION_REPLACED', 'TOO_MANY_USERS', 'TOO_MANY_CONNECTIONS',
]);

/** How long a request waits for its answer before it is forgotten (a server that never answers). */
const OUTSTANDING_MS = 30_000;

/** At most this many requests are remembered as waiting for an answer. */
const MAX_OUTSTANDING = 256;

/** A request sent, waiting for its answer; `line` is what the user typed, if it came from a line. */
export interface Outstanding {
  readonly message: ClientMessage;
  readonly line: string | null;
  readonly matches: (reply: ServerMessage) => boolean;
  readonly at: number;
}

/** What to do with one server message. */
export interface Narration {
  /** Lines to show before anything else: a held-back refusal that no error followed. */
  before?: string[];
  /** Lines to show instead of the message's usual ones (undefined: the usual ones). */
  lines?: string[];
  /** Lines to show after the usual ones. */
  after?: string[];
  /** A request of the user was refused. */
  refused?: boolean;
  /** The server was over its rate: this typed line was dropped and is to be sent again. */
  resend?: string;
  /**
   * The seed refusal of a request an `error` may follow (`INVITE_ONLY` after a refused join):
   * show nothing now; `settle` gives the sentence when no such error came.
   */
  deferred?: true;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

const roomNameRule = (roomid: string): string =>
  `${sanitize(roomid)} cannot be a room name: a letter, then 2 to 31 letters or digits.`;

/** The command a request comes from, as the user typed it, for sentences. */
const COMMAND_OF: Partial<Record<ClientMessage['type'], string>> = { dm: 'msg', delete: 'delete' };

export class Narrator {
  private outstanding: Outstanding[] = [];
  /** Known rooms (from the last `roomlist`), or null before any. */
  private rooms: string[] | null = null;
  /** Owners of rooms, from `roomcontents`. */
  private readonly owners = new Map<string, string>();
  /** The seed refusal held back for an error that may follow it. */
  private pending: { request: ClientMessage; sentence: string; line: string | null } | null = null;
  /** We were moved out of this room without asking: told when the next `roomlist` shows why. */
  private movedFrom: string | null = null;
  /** A `kick` or `ban` of us was just told: the move that follows is explained already. */
  private explainedMove = false;
  /**
   * Moved into MainHall: the `roomlist` and `roomcontents` that follow come with the move
   * (docs/PROTOCOL.md, `join`, `delete`) and answer no request.
   */
  private absorb: Array<'roomlist' | 'roomcontents'> = [];
  /** The room we were in and asked to delete: we were moved out of it by our own request. */
  private deletedHere: string | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** Notes a request sent; `line` is the typed line it came from, if any. */
  sent(message: ClientMessage, me: string, line: string | null = null): void {
    const matches = replyMatcher(message, me);
    if (!matches) return;
    const now = this.now();
    this.outstanding = this.outstanding.filter((o) => now - o.at < OUTSTANDING_MS).slice(-(MAX_OUTSTANDING - 1));
    this.outstanding.push({ message, line, matches, at: now });
  }

  /** Forgets every request (the connection closed: none will be answered). */
  reset(): void {
    this.outstanding = [];
    this.pending = null;
    this.movedFrom = null;
    this.absorb = [];
    this.deletedHere = null;
  }

  /** The sentence of a held-back refusal, when no error followed it (then it is gone). */
  settle(): string | null {
    const pending = this.pending;
    this.pending = null;
    return pending?.sentence ?? null;
  }

  /** Whether a refusal is held back. */
  get holding(): boolean {
    return this.pending !== null;
  }

  /**
   * What `message` means. `me` is our identity and `room` our room, both before the message.
   * Call `settle` first when a held refusal is not followed by its error.
   */
  narrate(message: ServerMessage, me: string, room: string): Narration {
    const pending = this.pending;
    this.pending = null;
    if (pending && message.type === 'error' && FOLLOW_UP_CODES.has(message.code)) {
      // The error that explains the seed refusal just shown (or rather held): it answers nothing else.
      return { lines: [`${refusalSentence(pending.request, message.code, sanitize(message.message))} (${sanitize(message.code)})`], refused: pending.line !== null };
    }
    this.lastLine = null;
    const narration = this.narrateAnswer(message, me, room);
    // Only the user's own requests count as refused (the exit code); the session's are told.
    if (narration.refused && this.lastLine === null) narration.refused = false;
    // The seed refusal was not followed by its error: told as it is, first.
    return pending ? { ...narration, before: [pending.sentence, ...(narration.before ?? [])] } : narration;
  }

  private narrateAnswer(message: ServerMessage, me: string, room: string): Narration {
    const request = this.answered(message);
    if (message.type === 'error') return this.onError(message, request);
    switch (message.type) {
      case 'roomchange':
        return this.onRoomChange(message, request, me, room);
      case 'roomlist':
        return this.onRoomList(message.rooms.map((r) => r.roomid), request);
      case 'roomcontents':
        return this.onRoomContents(message, request);
      case 'roominfo':
        this.owners.set(message.roomid.toLowerCase(), message.owner);
        return {};
      case 'kick':
      case 'ban':
        if (same(message.identity, me)) this.explainedMove = true;
        return {};
      case 'newidentity':
        if (message.former !== '' && message.former !== message.identity) {
          // A rename keeps the rooms one owns: not a transfer.
          for (const [room, owner] of this.owners) if (same(owner, message.former)) this.owners.set(room, message.identity);
        }
        if (request?.type === 'identitychange' && message.former === message.identity) {
          const wanted = sanitize(request.identity);
          let sentence: string;
          if (same(request.identity, me)) sentence = `You are already ${wanted}.`;
          else if (!IDENTITY_PATTERN.test(request.identity)) sentence = `${wanted} cannot be a name: a letter, then 2 to 15 letters or digits.`;
          else sentence = `The name ${wanted} is taken (someone connected, an account, or a name held for a while).`;
          return { lines: [sentence], refused: true };
        }
        return {};
      case 'blocklist':
        if (request?.type === 'block') return { lines: [`You now block ${sanitize(request.user)}.`] };
        if (request?.type === 'unblock') return { lines: [`You no longer block ${sanitize(request.user)}.`] };
        return {};
      default:
        return {};
    }
  }

  /** `message` answers a request but says nothing to the user (a page of a longer read). */
  consume(message: ServerMessage): void {
    this.answered(message);
  }

  /** The oldest request `message` answers, removed from those waiting; null if none. */
  private answered(message: ServerMessage): (ClientMessage & { line?: string | null }) | null {
    if (this.absorb[0] === message.type) {
      this.absorb.shift();
      return null;
    }
    const index = this.outstanding.findIndex((o) => o.matches(message));
    // Answers come in the order of the requests: only the oldest waiting may be answered.
    if (index !== 0) return null;
    const [entry] = this.outstanding.splice(0, 1);
    this.lastLine = entry!.line;
    return entry!.message;
  }

  /** The typed line of the request answered last, if any. */
  private lastLine: string | null = null;

  private onRoomChange(message: Extract<ServerMessage, { type: 'roomchange' }>, request: ClientMessage | null, me: string, room: string): Narration {
    if (!same(message.identity, me)) return {};
    if (request?.type === 'join' && message.former === message.roomid) {
      const wanted = request.roomid;
      if (same(wanted, room)) return { lines: [`You are already in ${sanitize(room)}.`], refused: true };
      const sentence = ROOM_ID_PATTERN.test(wanted)
        ? `There is no room named ${sanitize(wanted)} (/list shows the rooms; /createroom ${sanitize(wanted)} makes one).`
        : roomNameRule(wanted);
      this.pending = { request, sentence, line: this.lastLine };
      return { lines: [], refused: true, deferred: true };
    }
    if (message.former !== '' && message.roomid === MAIN_HALL && !same(message.former, MAIN_HALL)) {
      this.absorb = ['roomlist', 'roomcontents'];
      const head = this.outstanding[0]?.message;
      if (request !== null) {
        // Our own join of MainHall.
      } else if (head?.type === 'delete' && same(head.roomid, message.former)) {
        this.deletedHere = message.former;
      } else if (this.explainedMove) {
        this.explainedMove = false;
      } else {
        // Moved out without asking, and no kick or ban told: the room was closed.
        this.movedFrom = message.former;
      }
    }
    return {};
  }

  private onRoomList(rooms: string[], request: ClientMessage | null): Narration {
    const before = this.rooms;
    this.rooms = rooms;
    const has = (list: string[] | null, roomid: string): boolean => list?.some((r) => same(r, roomid)) ?? false;
    const after: string[] = [];
    if (this.movedFrom !== null) {
      if (!has(rooms, this.movedFrom)) after.push(`Room ${sanitize(this.movedFrom)} was closed: you are back in ${MAIN_HALL}.`);
      this.movedFrom = null;
    }
    if (request?.type === 'createroom') {
      const wanted = request.roomid;
      if (has(rooms, wanted)) return { after: [...after, `Room ${sanitize(wanted)} created; you are its owner.`] };
      let sentence: string;
      if (!ROOM_ID_PATTERN.test(wanted)) sentence = roomNameRule(wanted);
      else sentence = `A room named ${sanitize(wanted)} already exists: choose another name.`;
      // TOO_MANY_ROOMS may follow: then that is the reason.
      this.pending = { request, sentence, line: this.lastLine };
      return { after, refused: true, deferred: true };
    }
    if (request?.type === 'delete') {
      const wanted = request.roomid;
      if (same(wanted, MAIN_HALL)) return { after: [...after, `${MAIN_HALL} cannot be deleted or closed.`], refused: true };
      if (has(rooms, wanted)) {
        return { after: [...after, `You cannot delete ${sanitize(wanted)}: you are not its owner (nor an administrator).`], refused: true };
      }
      const here = this.deletedHere !== null && same(this.deletedHere, wanted);
      this.deletedHere = null;
      if (!here && before !== null && !has(before, wanted)) {
        return { after: [...after, `There is no room named ${sanitize(wanted)}.`], refused: true };
      }
      return { after: [...after, `Room ${sanitize(wanted)} deleted.`] };
    }
    return after.length > 0 ? { after } : {};
  }

  private onRoomContents(message: Extract<ServerMessage, { type: 'roomcontents' }>, request: ClientMessage | null): Narration {
    const key = message.roomid.toLowerCase();
    const before = this.owners.get(key);
    this.owners.set(key, message.owner);
    const transferred = request?.type === 'transfer' && same(request.roomid, message.roomid);
    // Unasked, a room's contents come with a new owner (docs/PROTOCOL.md, `transfer`).
    const unasked = request === null && message.owner !== '' && (before === undefined || !same(before, message.owner));
    if ((before !== undefined && before !== '' && !same(before, message.owner)) || transferred || unasked) {
      if (message.owner === '') return { after: [`${sanitize(message.roomid)} has no owner any more.`] };
      return { after: [`${sanitize(message.owner)} is now the owner of ${sanitize(message.roomid)}${before ? ` (was ${sanitize(before)})` : ''}.`] };
    }
    return {};
  }

  private onError(message: Extract<ServerMessage, { type: 'error' }>, request: ClientMessage | null): Narration {
    const code = sanitize(message.code);
    const text = sanitize(message.message);
    if (CLOSING_CODES.has(message.code)) return {}; // the reason of the close that follows
    if (message.code === 'RATE_LIMITED' && request !== null && this.lastLine !== null) {
      return { lines: [], resend: this.lastLine };
    }
    if (request === null) return {}; // not an answer to a request of ours: shown as it came
    return { lines: [`${refusalSentence(request, message.code, text)} (${code})`], refused: true };
  }
}

/** One sentence for a refused request, from what was asked and the error's code. */
export function refusalSentence(request: ClientMessage, code: string, serverText: string): string {
  const command = '/' + (COMMAND_OF[request.type] ?? request.type);
  const room = 'roomid' in request ? sanitize(request.roomid) : '';
  const target =
    'identity' in request ? sanitize(request.identity) : 'user' in request ? sanitize(request.user) : 'to' in request ? sanitize(request.to) : '';
  switch (code) {
    case 'INVITE_ONLY':
      return `You cannot join ${room}: it is private and you are not invited.`;
    case 'BANNED':
      return `You cannot join ${room}, you are banned from it: ${serverText}`;
    case 'TOO_MANY_ROOMS':
      return `You cannot create ${room}: you own as many rooms as the server allows.`;
    case 'NOT_LOGGED_IN':
      return `${command} needs an account: log in first (/login USER) or create one (/register USER).`;
    case 'BAD_CREDENTIALS':
      return request.type === 'login' && 'token' in request ? 'The saved login was refused: log in with your password.' : 'Wrong username or password.';
    case 'USERNAME_TAKEN':
      return `The name ${'username' in request ? sanitize(request.username) : ''} is taken (an account, or someone connected).`;
    case 'INVALID_USERNAME':
      return 'That cannot be a username: a letter, then 2 to 15 letters or digits.';
    case 'WEAK_PASSWORD':
      return 'Passwords are 8 to 256 characters long.';
    case 'NO_SUCH_USER':
      if (request.type === 'unblock') return `${target} is not on your block list.`;
      if (request.type === 'unban') return `${target} is not banned from ${room}.`;
      if (request.type === 'uninvite') return `${target} has no invitation to ${room}.`;
      if (request.type === 'kick') return `${target} is not in ${room}.`;
      if (request.type === 'dm' || request.type === 'dmhistory') return `There is no account named ${'with' in request ? sanitize(request.with) : target}.`;
      return `Nobody called ${target || 'that'} can be found (no account, no connected client).`;
    case 'NO_SUCH_ROOM':
      if (same(room, MAIN_HALL)) return `${MAIN_HALL} has no owner: it cannot be moderated or closed.`;
      return `There is no room named ${room}.`;
    case 'NO_SUCH_MESSAGE':
      return 'No message has that id.';
    case 'NOT_ALLOWED':
      if (request.type === 'recall') return 'You may not recall that message: it is not yours and you do not own its room.';
      if (request.type === 'block') return 'You cannot block yourself.';
      if (room !== '') return `You cannot ${command} in ${room}: you are not its owner nor an administrator, or ${target || 'the target'} may not be acted on.`;
      return `You may not ${command}: ${serverText}.`;
    case 'INBOX_FULL':
      return `${target}'s inbox is full: your message was not delivered; try again later.`;
    default:
      return `${command} was refused: ${serverText}.`;
  }
}
