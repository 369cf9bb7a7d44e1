import { newMessageId } from './message-ids';
import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { DirectMessageOut } from '../protocol/messages';
import type { DirectMessage } from '../store/store';
import { requireAccount } from './names';
import { RequestRefused, clampLimit, requireLogin, type HubContext } from './services';

const INBOX_PAGE = 500;

export function directOut(m: DirectMessage, inbox?: number): DirectMessageOut {
  const out: DirectMessageOut = { type: 'dm', id: m.id, from: m.from, to: m.to, content: m.content, ts: m.ts };
  if (inbox !== undefined) out.inbox = inbox;
  if (m.recalled) out.recalled = true;
  return out;
}

/**
 * One-to-one messages between accounts: stored, pushed live when the recipient is online and
 * not in do-not-disturb, else kept in their inbox until they log in and acknowledge it.
 */
export class DirectMessages {
  constructor(private readonly ctx: HubContext) {}

  async send(key: SessionKey, to: string, content: string): Promise<void> {
    const { router, store } = this.ctx;
    const from = requireLogin(this.ctx, key);
    const recipient = await store.getAccount(to);
    if (!recipient) throw new RequestRefused(ErrorCode.NO_SUCH_USER, `no registered user ${to}`);
    const toKey = router.state.sessionOfUser(to);
    const blocks = toKey ? router.extrasOf(toKey)?.blocked : new Set(await store.blockedBy(to));
    const blocked = blocks?.has(from) ?? false;
    const live = toKey !== undefined && !recipient.dnd && !blocked;
    const message: DirectMessage = { id: newMessageId(), from, to, content, ts: Date.now(), recalled: false };
    // A blocked sender is not told, and nothing is kept: the recipient never sees it, not even
    // in dmhistory. Otherwise it is stored, and queued in the inbox when it cannot go live.
    if (!blocked) await store.appendDirectMessage(message, !live);
    const out = directOut(message);
    router.sendTo(key, out);
    const nowKey = router.state.sessionOfUser(to);
    if (live && nowKey && nowKey !== key) router.sendTo(nowKey, out);
  }

  /** Everything waiting for `username`, in order, each with its inbox number to acknowledge. */
  async deliverInbox(key: SessionKey, username: string): Promise<void> {
    let after = 0;
    for (;;) {
      const page = await this.ctx.store.pendingInbox(username, after, INBOX_PAGE);
      for (const entry of page) this.ctx.router.sendTo(key, directOut(entry.message, entry.seq));
      if (page.length < INBOX_PAGE) return;
      after = page[page.length - 1]!.seq;
    }
  }

  async ack(key: SessionKey, upto: number): Promise<void> {
    const username = requireLogin(this.ctx, key);
    await this.ctx.store.ackInbox(username, upto);
  }

  async history(key: SessionKey, other: string, before: number | undefined, limit: number | undefined): Promise<void> {
    const username = requireLogin(this.ctx, key);
    await requireAccount(this.ctx, other);
    const messages = await this.ctx.store.directHistory(username, other, before ?? null, clampLimit(limit, 50, 200));
    this.ctx.router.sendTo(key, { type: 'dmhistory', with: other, messages: messages.map((m) => directOut(m)) });
  }
}
