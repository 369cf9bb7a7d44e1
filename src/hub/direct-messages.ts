import { newMessageId } from './message-ids';
import type { SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import type { Attachment, DirectMessageOut } from '../protocol/messages';
import { foldName } from '../protocol/rules';
import { isStoreError } from '../store/errors';
import type { DirectMessage, InboxLimits } from '../store/store';
import { InboxDelivery, type InboxWindow } from './inbox-delivery';
import { requireAccount } from './names';
import { RequestRefused, clampLimit, requireLogin, type HubContext } from './services';

export function directOut(m: DirectMessage, inbox?: number): DirectMessageOut {
  const out: DirectMessageOut = { type: 'dm', id: m.id, from: m.from, to: m.to, content: m.content, ts: m.ts };
  if (inbox !== undefined) out.inbox = inbox;
  if (m.recalled) out.recalled = true;
  else if (m.attachment) out.attachment = m.attachment;
  return out;
}

/** The bounds on what waits for an account and on what is on its way to it. */
export interface DirectLimits {
  /** Per-account inbox caps (`maxInboxMessages`, `maxInboxBytes`). */
  inbox: InboxLimits;
  /** Unacknowledged inbox deliveries per session (`inboxWindow`, `maxOutboundBytes`). */
  window: InboxWindow;
}

/**
 * One-to-one messages between accounts: stored, pushed live when the recipient is online and
 * not in do-not-disturb, else kept in their bounded inbox and delivered, paced by their acks,
 * when they log in or turn do-not-disturb off.
 */
export class DirectMessages {
  constructor(
    private readonly ctx: HubContext,
    private readonly limits: DirectLimits,
  ) {}

  /** `attachment`: the file it carries, as the server recorded it (FileService.attachment). */
  async send(key: SessionKey, name: string, content: string, attachment?: Attachment): Promise<void> {
    const { router, store } = this.ctx;
    const from = requireLogin(this.ctx, key);
    const recipient = await store.getAccount(name);
    if (!recipient) throw new RequestRefused(ErrorCode.NO_SUCH_USER, `no registered user ${name}`);
    // Usernames are case-insensitive: the DM goes to the account under its stored spelling.
    const to = recipient.username;
    const online = router.state.isOnline(to);
    // A device of the recipient on this node keeps its list; the store has it otherwise.
    const localKey = router.localSessionsOfUser(to)[0];
    const blocks = (localKey === undefined ? undefined : router.extrasOf(localKey)?.blocked) ?? new Set(await store.blockedBy(to));
    const blocked = [...(blocks ?? [])].some((name) => foldName(name) === foldName(from));
    const live = online && !recipient.dnd && !blocked;
    const message: DirectMessage = { id: newMessageId(), from, to, content, ts: Date.now(), recalled: false, attachment: attachment ?? null };
    // A blocked sender is not told, and nothing is kept: the recipient never sees it, not even
    // in dmhistory. Otherwise it is stored, and queued in the inbox when it cannot go live;
    // a full inbox refuses it (as ejabberd's offline limit does), and the sender is told.
    if (!blocked) await this.store(message, !live);
    // Live: to every device of the recipient wherever it is (a cluster's log carries it), and
    // back to every device of the sender; otherwise to the sender's devices only.
    const dm = attachment ? { id: message.id, from, to, content, ts: message.ts, attachment } : { id: message.id, from, to, content, ts: message.ts };
    return this.ctx.decide(key, live ? { type: 'dm', message: dm } : { type: 'dm', message: dm, senderOnly: true });
  }

  private async store(message: DirectMessage, queue: boolean): Promise<void> {
    try {
      await this.ctx.store.appendDirectMessage(message, queue, this.limits.inbox);
    } catch (err) {
      if (!isStoreError(err, 'STORE_INBOX_FULL')) throw err;
      const { messages, bytes } = this.limits.inbox;
      throw new RequestRefused(ErrorCode.INBOX_FULL, `the inbox of ${message.to} is full (${messages} DMs or ${bytes} bytes); not sent, try again later`);
    }
  }

  /** Starts delivering the inbox of `username` to this session (at login, or after a hub restart). */
  async deliverInbox(key: SessionKey, username: string): Promise<void> {
    const extras = this.ctx.router.extrasOf(key);
    if (!extras) return;
    extras.inbox = new InboxDelivery(username, this.limits.window);
    await this.fill(key);
  }

  /**
   * Sends waiting entries, in order, while the session's window has room: the delivery goes on
   * as the client acknowledges, and stops when the inbox has nothing more after what was sent.
   */
  async fill(key: SessionKey): Promise<void> {
    const { router, store } = this.ctx;
    const delivery = router.extrasOf(key)?.inbox;
    if (!delivery) return;
    await delivery.serially(async () => {
      // Logged out, replaced or gone meanwhile: this delivery is over.
      while (router.extrasOf(key)?.inbox === delivery && delivery.room > 0) {
        const asked = delivery.room;
        const page = await store.pendingInbox(delivery.username, delivery.after, asked);
        if (router.extrasOf(key)?.inbox !== delivery) return;
        let lines = '';
        let full = false;
        for (const entry of page) {
          const line = JSON.stringify(directOut(entry.message, entry.seq)) + '\n';
          const bytes = Buffer.byteLength(line);
          if (!delivery.fits(bytes)) {
            full = true;
            break;
          }
          lines += line;
          delivery.sent(entry.seq, bytes);
        }
        router.sendLines(key, lines);
        if (full || page.length < asked) return;
      }
    });
  }

  /**
   * Removes what the client has (from any device: the store keeps one inbox per account) and
   * sends on: every device of the account, on every node (an `inbox-acked` outcome), counts
   * the ack as its own.
   */
  async ack(key: SessionKey, upto: number): Promise<void> {
    const username = requireLogin(this.ctx, key);
    await this.ctx.store.ackInbox(username, upto);
    await this.ctx.decide(key, { type: 'inbox-acked', username, upto });
  }

  /** Every device of `username` on this node has what is up to `upto`: their windows move on. */
  async acked(username: string, upto: number): Promise<void> {
    const { router } = this.ctx;
    await Promise.all(
      router.localSessionsOfUser(username).map((k) => {
        const delivery = router.extrasOf(k)?.inbox;
        if (!delivery) return undefined;
        delivery.acked(upto);
        return this.fill(k);
      }),
    );
  }

  /** Fills the inbox delivery of every device of `username` on this node (do-not-disturb turned off). */
  async fillAll(username: string): Promise<void> {
    await Promise.all(this.ctx.router.localSessionsOfUser(username).map((k) => this.fill(k)));
  }

  /** DMs waiting for `username`, for the `inbox` count of its profile. */
  async waiting(username: string): Promise<number> {
    return (await this.ctx.store.inboxSize(username)).messages;
  }

  async history(key: SessionKey, other: string, before: number | undefined, limit: number | undefined, cursor: number | undefined): Promise<void> {
    const username = requireLogin(this.ctx, key);
    // The conversation is keyed by stored spellings; `with` may be typed in any case.
    const stored = (await requireAccount(this.ctx, other)).username;
    const page = await this.ctx.store.directHistory(username, stored, before ?? null, clampLimit(limit, 50, 200), cursor ?? null);
    this.ctx.router.sendTo(key, { type: 'dmhistory', with: other, messages: page.messages.map((m) => directOut(m)), next: page.next });
  }
}
