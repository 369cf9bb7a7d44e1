import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { RoomMessageOut } from '../protocol/messages';
import type { RoomMessage } from '../store/store';
import { encodeRoomMessage } from './room-sequencer';
import { RequestRefused, clampLimit, type HubContext } from './services';

const RESUME_PAGE = 500;

function roomOut(m: RoomMessage, epoch: string): RoomMessageOut {
  const out: RoomMessageOut = { type: 'message', identity: m.identity, content: m.content, roomid: m.roomid, id: m.id, seq: m.seq, epoch, ts: m.ts };
  if (m.recalled) out.recalled = true;
  return out;
}

/** history, resume and recall: reads of what the sequencer stored, and its one correction. */
export class RoomHistory {
  constructor(private readonly ctx: HubContext) {}

  async history(key: SessionKey, roomid: string, before: number | undefined, limit: number | undefined): Promise<void> {
    this.mayRead(key, roomid);
    const epoch = await this.epochOf(roomid);
    if (epoch === null) return this.ctx.router.sendTo(key, { type: 'history', roomid, epoch: '', messages: [] });
    const messages = await this.ctx.store.roomHistory(roomid, before ?? null, clampLimit(limit, 50, 200));
    const wanted = this.notBlocked(key);
    this.ctx.router.sendTo(key, { type: 'history', roomid, epoch, messages: messages.filter(wanted).map((m) => roomOut(m, epoch)) });
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

  /** A private room's history is its invitees' and members'; a banned name reads none of it. */
  private mayRead(key: SessionKey, roomid: string): void {
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
   * message may also arrive live, and clients drop a seq they have seen. A client that names
   * an epoch other than the room's current one is replayed the current epoch from its start:
   * its `since` counts in a sequence that is over.
   */
  async resume(key: SessionKey, roomid: string, since: number, clientEpoch?: string): Promise<void> {
    const { router, store } = this.ctx;
    this.mayRead(key, roomid);
    const epoch = await this.epochOf(roomid);
    if (epoch === null) return router.sendTo(key, { type: 'resumed', roomid, seq: 0, epoch: '' });
    let after = clientEpoch === undefined || clientEpoch === epoch ? since : 0;
    const wanted = this.notBlocked(key);
    for (;;) {
      // Page by page, as the worker takes them; a client that left mid-replay stops it.
      await router.linkDrained(key);
      if (!router.state.has(key)) return;
      const page = await store.roomSince(roomid, after, RESUME_PAGE);
      router.sendLines(key, page.filter(wanted).map((m) => encodeRoomMessage(m, epoch)).join(''));
      if (page.length > 0) after = page[page.length - 1]!.seq;
      if (page.length < RESUME_PAGE) break;
    }
    router.sendTo(key, { type: 'resumed', roomid, seq: after, epoch });
  }

  /** The sender (an account), the room's owner or an administrator recalls a room message; a DM only its sender. */
  async recall(key: SessionKey, id: string): Promise<void> {
    const { router, store } = this.ctx;
    const { state } = router;
    const identity = state.identityOf(key) ?? '';
    const username = state.usernameOf(key) ?? null;
    await router.sequencer.settled();
    const message = await store.getRoomMessage(id);
    // Only a room that exists has a history: its stored messages are all of its current epoch.
    if (message && state.ownerOf(message.roomid) !== undefined) {
      const ownMessage = username !== null && message.identity === username;
      const roomOwner = identity !== '' && state.ownerOf(message.roomid) === identity;
      if (!ownMessage && !roomOwner && !state.isAdmin(key)) {
        throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'only its sender (logged in), the room owner or an administrator may recall a message');
      }
      const { epoch } = await router.sequencer.current(message.roomid);
      await store.recallRoomMessage(id);
      const audience = new Set([...state.membersOf(message.roomid), key]);
      router.apply([{ kind: 'deliver', to: [...audience], message: { type: 'recalled', id, roomid: message.roomid, seq: message.seq, by: identity, epoch } }]);
      return;
    }
    const direct = await store.getDirectMessage(id);
    if (!direct) throw new RequestRefused(ErrorCode.NO_SUCH_MESSAGE, `no message ${id}`);
    if (direct.from !== username) throw new RequestRefused(ErrorCode.NOT_ALLOWED, 'only its sender may recall a direct message');
    await store.recallDirectMessage(id);
    const audience = [key, state.sessionOfUser(direct.to)].filter((k): k is SessionKey => k !== undefined);
    router.apply([{ kind: 'deliver', to: audience, message: { type: 'recalled', id, roomid: '', seq: 0, by: identity, epoch: '' } }]);
  }
}
