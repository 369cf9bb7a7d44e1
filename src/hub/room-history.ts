import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { RoomMessageOut } from '../protocol/messages';
import type { RoomMessage } from '../store/store';
import { encodeRoomMessage } from './room-sequencer';
import { requireRoom } from './names';
import { RequestRefused, clampLimit, type HubContext } from './services';

const RESUME_PAGE = 500;

function roomOut(m: RoomMessage): RoomMessageOut {
  const out: RoomMessageOut = { type: 'message', identity: m.identity, content: m.content, roomid: m.roomid, id: m.id, seq: m.seq, ts: m.ts };
  if (m.recalled) out.recalled = true;
  return out;
}

/** history, resume and recall: reads of what the sequencer stored, and its one correction. */
export class RoomHistory {
  constructor(private readonly ctx: HubContext) {}

  async history(key: SessionKey, roomid: string, before: number | undefined, limit: number | undefined): Promise<void> {
    this.mayRead(key, roomid);
    await this.ctx.router.sequencer.settled();
    const messages = await this.ctx.store.roomHistory(roomid, before ?? null, clampLimit(limit, 50, 200));
    const wanted = this.notBlocked(key);
    this.ctx.router.sendTo(key, { type: 'history', roomid, messages: messages.filter(wanted).map(roomOut) });
  }

  /**
   * Only a room that exists now is read (NO_SUCH_ROOM otherwise): a gone room's messages stay
   * in the store for the operator (`switchboard export`), not for whoever asks by its name.
   * A private room's history is its invitees' and members'; a banned name reads none of it.
   */
  private mayRead(key: SessionKey, roomid: string): void {
    requireRoom(this.ctx, roomid);
    const refusal = this.ctx.router.state.readRefusal(key, roomid);
    if (refusal) throw new RequestRefused(refusal.code, refusal.message);
  }

  /** Blocked senders are left out of replays as they are out of the live stream. */
  private notBlocked(key: SessionKey): (m: RoomMessage) => boolean {
    const blocked = this.ctx.router.extrasOf(key)?.blocked;
    return (m) => !blocked?.has(m.identity);
  }

  /**
   * Every stored message after `since`, exactly as broadcast, then `resumed`. Waits for the
   * batches already sequenced to be stored, so nothing sent before the request is missed; a
   * message may also arrive live, and clients drop a seq they have seen.
   */
  async resume(key: SessionKey, roomid: string, since: number): Promise<void> {
    const { router, store } = this.ctx;
    this.mayRead(key, roomid);
    await router.sequencer.settled();
    let after = since;
    const wanted = this.notBlocked(key);
    for (;;) {
      // Page by page, as the worker takes them; a client that left mid-replay stops it.
      await router.linkDrained(key);
      if (!router.state.has(key)) return;
      const page = await store.roomSince(roomid, after, RESUME_PAGE);
      router.sendLines(key, page.filter(wanted).map(encodeRoomMessage).join(''));
      if (page.length > 0) after = page[page.length - 1]!.seq;
      if (page.length < RESUME_PAGE) break;
    }
    router.sendTo(key, { type: 'resumed', roomid, seq: after });
  }

  /** The sender (an account), the room's owner or an administrator recalls a room message; a DM only its sender. */
  async recall(key: SessionKey, id: string): Promise<void> {
    const { router, store } = this.ctx;
    const { state } = router;
    const identity = state.identityOf(key) ?? '';
    const username = state.usernameOf(key) ?? null;
    await router.sequencer.settled();
    const message = await store.getRoomMessage(id);
    if (message) {
      const ownMessage = username !== null && message.identity === username;
      const roomOwner = identity !== '' && state.ownerOf(message.roomid) === identity;
      if (!ownMessage && !roomOwner && !state.isAdmin(key)) {
        throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'only its sender (logged in), the room owner or an administrator may recall a message');
      }
      await store.recallRoomMessage(id);
      const audience = new Set([...state.membersOf(message.roomid), key]);
      router.apply([{ kind: 'deliver', to: [...audience], message: { type: 'recalled', id, roomid: message.roomid, seq: message.seq, by: identity } }]);
      return;
    }
    const direct = await store.getDirectMessage(id);
    if (!direct) throw new RequestRefused(ErrorCode.NO_SUCH_MESSAGE, `no message ${id}`);
    if (direct.from !== username) throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'only its sender may recall a direct message');
    await store.recallDirectMessage(id);
    const audience = [key, state.sessionOfUser(direct.to)].filter((k): k is SessionKey => k !== undefined);
    router.apply([{ kind: 'deliver', to: audience, message: { type: 'recalled', id, roomid: '', seq: 0, by: identity } }]);
  }
}
