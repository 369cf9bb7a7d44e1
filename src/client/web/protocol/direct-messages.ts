import type { Timers } from './connection';
import type { SessionContext } from './session-context';
import { threadOf } from './state';
import type { SavedData } from './storage';
import { PAGE_SIZE } from './timeline-sync';
import { fold, type ClientRequest, type DirectMessage } from './types';

/** DM peers of the last session whose newest page is fetched at login. */
const RESTORED_PEERS = 10;
/** Inbox DMs are acked in one `ack` per burst, this long after the first of it, ms. */
const ACK_DELAY_MS = 50;

/**
 * The DM threads: live DMs and inbox deliveries (acked once held), `dmhistory` pages, the
 * unread count per peer and notifications, and the peers talked to (remembered per account, so
 * their threads come back at the next login).
 */
export class DirectMessages {
  /** Older-page `dmhistory` requests in flight, per folded peer. */
  private readonly olderWaits = new Map<string, number>();
  private ackTimer: unknown = null;
  private ackHighest = 0;

  constructor(
    private readonly session: SessionContext,
    private readonly saved: SavedData,
    private readonly timers: Timers,
  ) {}

  /** Shows the thread with `peer`: read now, its first page asked for if none is held. */
  open(peer: string): void {
    const s = this.session.state;
    const t = threadOf(s, peer);
    t.unread = 0;
    s.view = { kind: 'dm', peer: t.peer };
    if (t.next === undefined) this.requestPage(t.peer, false);
    if (s.username) this.saved.addDmPeer(s.username, t.peer);
  }

  /** Asks for the page before the oldest DM shown with `peer`, unless one is on its way or the start is reached. */
  loadOlder(peer: string): void {
    const t = threadOf(this.session.state, peer);
    if (typeof t.next === 'number' && !this.loadingOlder(t.peer)) this.requestPage(t.peer, true);
  }

  /** Whether an older page of the thread with `peer` is on its way. */
  loadingOlder(peer: string): boolean {
    return (this.olderWaits.get(fold(peer)) ?? 0) > 0;
  }

  /** At login: the newest page of each of the last peers `user` talked to (not held yet). */
  restore(user: string): void {
    for (const peer of this.saved.dmPeers(user).slice(0, RESTORED_PEERS)) {
      if (!this.session.state.dms.has(fold(peer))) this.requestPage(peer, false);
    }
  }

  /** After a reconnect: the newest page of every thread (DMs pushed to the account's other devices meanwhile). */
  refresh(): void {
    for (const t of this.session.state.dms.values()) this.requestPage(t.peer, false);
  }

  /** A live or inbox `dm`: into its thread; from the peer while the user is not looking at it, counted and notified. */
  onDm(dm: DirectMessage): void {
    const s = this.session.state;
    const me = fold(s.username || s.identity);
    const peer = fold(dm.from) === me ? dm.to : dm.from;
    const t = threadOf(s, peer);
    const fresh = t.insert(dm);
    if (dm.inbox !== undefined) this.scheduleAck(dm.inbox);
    if (!fresh) return;
    if (s.username) this.saved.addDmPeer(s.username, peer);
    if (fold(dm.from) === me) return;
    const looking = s.view.kind === 'dm' && fold(s.view.peer) === fold(peer) && this.session.visible();
    if (!looking) {
      if (s.view.kind === 'dm' && fold(s.view.peer) === fold(peer)) s.hiddenUnread++;
      else t.unread++;
      this.session.notify(`${dm.from} (direct message)`, dm.content || (dm.attachment ? `sent ${dm.attachment.name}` : ''));
    }
  }

  /** A `dmhistory` page: the first sets where older ones start; an older page moves it back. */
  onHistory(peer: string, messages: DirectMessage[], next: number | null): void {
    const t = threadOf(this.session.state, peer);
    const wait = this.olderWaits.get(fold(peer)) ?? 0;
    for (const dm of messages) t.insert(dm);
    if (t.next === undefined || wait > 0) t.next = next;
    if (wait > 0) this.olderWaits.set(fold(peer), wait - 1);
  }

  /** The link went down: pages in flight will not be answered. */
  linkDown(): void {
    this.olderWaits.clear();
  }

  /** Asks for the newest page with `peer`, or (`older`) the page before the oldest held. */
  private requestPage(peer: string, older: boolean): void {
    const t = threadOf(this.session.state, peer);
    const request: ClientRequest = { type: 'dmhistory', with: peer, limit: PAGE_SIZE };
    if (older) {
      if (typeof t.next !== 'number') return;
      request.cursor = t.next;
      this.olderWaits.set(fold(peer), (this.olderWaits.get(fold(peer)) ?? 0) + 1);
    }
    this.session.send(request);
  }

  /** Acks inbox DMs up to `n` once held in the state (shown and, with dmhistory, recoverable). */
  private scheduleAck(n: number): void {
    this.ackHighest = Math.max(this.ackHighest, n);
    if (this.ackTimer !== null) return;
    this.ackTimer = this.timers.setTimeout(() => {
      this.ackTimer = null;
      this.session.send({ type: 'ack', inbox: this.ackHighest });
    }, ACK_DELAY_MS);
  }
}
