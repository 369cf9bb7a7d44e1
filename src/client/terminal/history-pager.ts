/**
 * Paging through history (docs/PROTOCOL.md, "Paging: next, more and cursors"): a read of more
 * messages than the server gives at once (200) is made of several requests, each going on from
 * the previous reply's `next`; `/more` (or PageUp) goes on from where the last read stopped,
 * until `next` is null: the start.
 */
import type { ClientMessage, DirectMessage, RoomMessage, ServerMessage } from './wire';

/** The most messages the server returns for one `history` or `dmhistory` request. */
export const SERVER_PAGE_LIMIT = 200;

/** How many messages `/more` shows. */
export const MORE_PAGE = 20;

type Target = { kind: 'room'; roomid: string } | { kind: 'dm'; with: string };

interface Read {
  target: Target;
  /** Messages still wanted. */
  left: number;
  /** Gathered so far, oldest first. */
  messages: Array<RoomMessage | DirectMessage>;
}

/** What to do with a history reply. */
export type PagerStep =
  /** Not ours (a reply to no read of the pager): show it as it came. */
  | { kind: 'pass' }
  /** Send this request; the reply is swallowed until the read is complete. */
  | { kind: 'fetch'; request: ClientMessage }
  /** The read is complete: show `reply` (all the pages gathered); `atStart`: nothing older is left. */
  | { kind: 'done'; reply: ServerMessage; atStart: boolean };

export class HistoryPager {
  private read: Read | null = null;
  /** Where the last complete read stopped: what `/more` goes on from; null cursor = the start. */
  private last: { target: Target; next: number | null } | null = null;

  /**
   * A `history` or `dmhistory` request about to be sent: the first page is asked for at most
   * `SERVER_PAGE_LIMIT`; the rest follows each reply's `next`. Returns the request to send.
   */
  start(request: ClientMessage): ClientMessage {
    if (request.type !== 'history' && request.type !== 'dmhistory') return request;
    const wanted = request.limit ?? MORE_PAGE;
    const target: Target = request.type === 'history' ? { kind: 'room', roomid: request.roomid } : { kind: 'dm', with: request.with };
    this.read = { target, left: wanted, messages: [] };
    return { ...request, limit: Math.min(wanted, SERVER_PAGE_LIMIT) };
  }

  /**
   * `/more`: the request for the page before the last one shown, or a sentence when there is
   * nothing to go on from (no read yet, or its start was reached).
   */
  more(count: number = MORE_PAGE): ClientMessage | string {
    const last = this.last;
    if (last === null) return 'Nothing to page back in: read a history first (/history ROOM, /dmhistory USER).';
    const name = last.target.kind === 'room' ? last.target.roomid : `your messages with ${last.target.with}`;
    if (last.next === null) return `You are at the start of ${name}: there is nothing older.`;
    this.read = { target: last.target, left: count, messages: [] };
    return this.request(last.target, last.next, Math.min(count, SERVER_PAGE_LIMIT));
  }

  /** Whether a read is under way (its replies are the pager's). */
  get reading(): boolean {
    return this.read !== null;
  }

  /** Forgets the read under way (the connection closed). */
  cancel(): void {
    this.read = null;
  }

  /** A server message: one page of the read under way, or not the pager's business. */
  onReply(message: ServerMessage): PagerStep {
    const read = this.read;
    if (read === null || !this.isOurs(read.target, message)) return { kind: 'pass' };
    if (message.type !== 'history' && message.type !== 'dmhistory') return { kind: 'pass' };
    // Pages come newest first, each oldest first: this page goes before what was gathered.
    const page = message.messages.slice(-read.left) as Array<RoomMessage | DirectMessage>;
    read.messages = [...page, ...read.messages];
    read.left -= page.length;
    const next = message.next ?? null;
    if (read.left > 0 && next !== null) {
      return { kind: 'fetch', request: this.request(read.target, next, Math.min(read.left, SERVER_PAGE_LIMIT)) };
    }
    this.read = null;
    // Each page asked for at most what was left, so `next` is where the next one starts.
    this.last = { target: read.target, next };
    const reply: ServerMessage =
      message.type === 'history'
        ? { ...message, messages: read.messages as RoomMessage[] }
        : { ...message, messages: read.messages as DirectMessage[] };
    return { kind: 'done', reply, atStart: next === null };
  }

  private isOurs(target: Target, message: ServerMessage): boolean {
    if (target.kind === 'room') return message.type === 'history' && message.roomid.toLowerCase() === target.roomid.toLowerCase();
    return message.type === 'dmhistory' && message.with.toLowerCase() === target.with.toLowerCase();
  }

  private request(target: Target, next: number, limit: number): ClientMessage {
    return target.kind === 'room'
      ? { type: 'history', roomid: target.roomid, before: next, limit }
      : { type: 'dmhistory', with: target.with, cursor: next, limit };
  }
}
