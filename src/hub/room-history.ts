import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { RoomMessageOut } from '../protocol/messages';
import { foldName } from '../protocol/rules';
import type { RoomMessage } from '../store/store';
import { MAX_SCANNED_ROWS, pageBackward } from './paging';
import { encodeRoomMessage } from './room-sequencer';
import { requireRoom } from './names';
import { RequestRefused, clampLimit, type HubContext } from './services';

const RESUME_PAGE = 500;

function roomOut(m: RoomMessage, epoch: string): RoomMessageOut {
  const out: RoomMessageOut = { type: 'message', identity: m.identity, content: m.content, roomid: m.roomid, id: m.id, seq: m.seq, epoch, ts: m.ts };
  if (m.recalled) out.recalled = true;
  else if (m.attachment) out.attachment = m.attachment;
  return out;
}

/** history, resume and recall: reads of what the sequencer stored, and its one correction. */
export class RoomHistory {
  constructor(private readonly ctx: HubContext) {}

  async history(key: SessionKey, roomid: string, before: number | undefined, limit: number | undefined): Promise<void> {
    this.mayRead(key, roomid);
    const epoch = await this.epochOf(roomid);
    if (epoch === null) return this.ctx.router.sendTo(key, { type: 'history', roomid, epoch: '', messages: [], next: null });
    const { store } = this.ctx;
    // Blocked senders are left out while the page is filled, not after: a page is short only
    // when the scan bound was reached, and `next` then says where to go on.
    const scope = this.ctx.router.sequencer.epochKeyed ? epoch : undefined;
    const page = await pageBackward((b, n) => store.roomHistory(roomid, b, n, scope), (m) => m.seq, this.notBlocked(key), before ?? null, clampLimit(limit, 50, 200));
    this.ctx.router.sendTo(key, { type: 'history', roomid, epoch, messages: page.items.map((m) => roomOut(m, epoch)), next: page.next });
  }

  /**
   * The room's current epoch once everything sequenced before is stored, or null when no room
   * has that name (a room that is gone has no history: docs/PROTOCOL.md, "Epochs").
   */
  private async epochOf(roomid: string): Promise<string | null> {
    const { router } = this.ctx;
    if (router.state.ownerOf(roomid) === undefined) {
      await router.sequencer.settled();
      return null;
    }
    return (await router.sequencer.current(roomid)).epoch;
  }

  /**
   * Only a room that exists now is read (NO_SUCH_ROOM otherwise): a gone room's history is
   * deleted with it, and a new room of the same name starts a new epoch.
   * A private room's history is its invitees' and members'; a banned name reads none of it.
   */
  private mayRead(key: SessionKey, roomid: string): void {
    requireRoom(this.ctx, roomid);
    const refusal = this.ctx.router.state.readRefusal(key, roomid);
    if (refusal) throw new RequestRefused(refusal.code, refusal.message);
  }

  /** Blocked senders (in any case) are left out of replays as they are out of the live stream. */
  private notBlocked(key: SessionKey): (m: RoomMessage) => boolean {
    const blocked = this.ctx.router.extrasOf(key)?.blocked;
    if (!blocked || blocked.size === 0) return () => true;
    const folded = new Set([...blocked].map(foldName));
    return (m) => !folded.has(foldName(m.identity));
  }

  /**
   * The stored messages after `since`, exactly as broadcast, then `resumed`. Waits for the
   * batches already sequenced to be stored, so nothing sent before the request is missed; a
   * message may also arrive live, and clients drop a seq they have seen. Without `limit`,
   * everything to the newest; with it, at most `limit` messages and MAX_SCANNED_ROWS rows read,
   * and `resumed` says whether more may follow (`more`) and from where (`seq`, the next `since`).
   * A client that names an epoch other than the room's current one is replayed the current
   * epoch from its start: its `since` counts in a sequence that is over.
   */
  async resume(key: SessionKey, roomid: string, since: number, limit?: number, clientEpoch?: string): Promise<void> {
    const { router, store } = this.ctx;
    this.mayRead(key, roomid);
    const epoch = await this.epochOf(roomid);
    if (epoch === null) return router.sendTo(key, { type: 'resumed', roomid, seq: 0, epoch: '', more: false });
    const budget = limit === undefined ? Infinity : Math.max(MAX_SCANNED_ROWS, limit + 1);
    const wanted = this.notBlocked(key);
    let after = clientEpoch === undefined || clientEpoch === epoch ? since : 0;
    let sent = 0;
    let scanned = 0;
    let more = false;
    for (;;) {
      // Page by page, as the worker takes them; a client that left mid-replay stops it.
      await router.linkDrained(key);
      if (!router.state.has(key)) return;
      // With a limit, one row more than can be sent: finding a visible one proves `more`.
      const ask = Math.min(RESUME_PAGE, limit === undefined ? RESUME_PAGE : limit + 1 - sent, budget - scanned);
      if (ask <= 0) {
        more = true;
        break;
      }
      const page = await store.roomSince(roomid, after, ask, router.sequencer.epochKeyed ? epoch : undefined);
      scanned += page.length;
      const lines: string[] = [];
      for (const m of page) {
        if (wanted(m)) {
          if (sent === limit) {
            more = true;
            break;
          }
          lines.push(encodeRoomMessage(m, epoch));
          sent++;
        }
        // Left-out messages move the cursor too: `resumed.seq` counts them.
        after = m.seq;
      }
      router.sendLines(key, lines.join(''));
      if (more || page.length < ask) break;
    }
    router.sendTo(key, { type: 'resumed', roomid, seq: after, epoch, more });
  }

  /**
   * Whether a stored room message is of its room's current epoch. One server's stored messages
   * all are (a new epoch deletes the old one's at once). A cluster's store may hold an ended
   * epoch's rows for a while: a node running behind writes them again until it applies the
   * room's end (docs/CLUSTER.md), and a room of the same name may exist meanwhile; such a
   * message is no longer anyone's to recall. The lookup by id does not say the epoch, so the
   * current epoch is asked for the same seq and id.
   */
  private async ofCurrentEpoch(m: RoomMessage): Promise<boolean> {
    const { sequencer } = this.ctx.router;
    if (!sequencer.epochKeyed) return true;
    const { epoch } = await sequencer.current(m.roomid);
    const [same] = await this.ctx.store.roomSince(m.roomid, m.seq - 1, 1, epoch);
    return same?.id === m.id;
  }

  /**
   * The sender (an account), the room's owner or an administrator recalls a room message of its
   * room's current epoch (NO_SUCH_MESSAGE otherwise); a DM only its sender.
   */
  async recall(key: SessionKey, id: string): Promise<void> {
    const { router, store } = this.ctx;
    const { state } = router;
    const identity = state.identityOf(key) ?? '';
    const username = state.usernameOf(key) ?? null;
    await router.sequencer.settled();
    const message = await store.getRoomMessage(id);
    // Only a room that exists has a history, and only its current epoch's messages are in it.
    if (message && state.ownerOf(message.roomid) !== undefined && (await this.ofCurrentEpoch(message))) {
      // Sent by this account, not by whoever went by the same name (a guest before it registered).
      const sender = message.sender ?? null;
      const ownMessage = username !== null && sender !== null && foldName(sender) === foldName(username);
      const roomOwner = identity !== '' && state.ownerOf(message.roomid) === identity;
      if (!ownMessage && !roomOwner && !state.isAdmin(key)) {
        throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'only its sender (logged in), the room owner or an administrator may recall a message');
      }
      const { epoch } = await router.sequencer.current(message.roomid);
      await store.recallRoomMessage(id);
      await this.ctx.decide(key, { type: 'recalled', id, roomid: message.roomid, seq: message.seq, by: identity, epoch });
      return;
    }
    const direct = await store.getDirectMessage(id);
    if (!direct) throw new RequestRefused(ErrorCode.NO_SUCH_MESSAGE, `no message ${id}`);
    if (direct.from !== username) throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'only its sender may recall a direct message');
    await store.recallDirectMessage(id);
    await this.ctx.decide(key, { type: 'recalled', id, roomid: '', seq: 0, by: identity, epoch: '', to: direct.to });
  }
}
