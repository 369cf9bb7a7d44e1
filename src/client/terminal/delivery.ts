/**
 * Which room and direct messages to show, and when: each once (a resume after a reconnection
 * may repeat what arrived live; an inbox delivery not yet acknowledged comes again), and those
 * of a room being resumed in seq order once the replay is complete. Pure: knows nothing of
 * sockets or screens.
 */
import { shortId } from './format';
import { SeenMessages, ShownIds } from './seen';
import type { RoomMessage, ServerMessage } from './wire';

export class Delivery {
  private readonly seen: SeenMessages;
  /** Short ids shown, for `#recall`. */
  readonly ids: ShownIds;
  /** While a room is resumed: its messages received, by seq. */
  private held: { roomid: string; messages: Map<number, RoomMessage> } | null = null;

  constructor(limit?: number) {
    this.seen = new SeenMessages(limit);
    this.ids = new ShownIds(shortId, limit);
  }

  /** Holds the messages of `roomid` until `release`: a resume of it is under way. */
  hold(roomid: string): void {
    this.held = { roomid, messages: new Map() };
  }

  /** The room whose messages are held, or null. */
  get holding(): string | null {
    return this.held?.roomid ?? null;
  }

  /**
   * Whether to show `message` now. Room messages (with room and seq) and direct messages (with
   * an id) shown before are not; those of the held room are kept for `release`. What is to be
   * shown counts as shown.
   */
  admit(message: ServerMessage): boolean {
    if (message.type === 'dm') return message.id === undefined || this.seen.addDirectMessage(message.id);
    if (message.type !== 'message' || message.roomid === undefined || message.seq === undefined) return true;
    if (this.held?.roomid === message.roomid) {
      if (!this.seen.hasRoomMessage(message.roomid, message.seq, message.epoch)) this.held.messages.set(message.seq, message);
      return false;
    }
    return this.seen.addRoomMessage(message.roomid, message.seq, message.epoch, message.id);
  }

  /** The room's epoch as `resumed` tells it: a changed one forgets what was shown there. */
  noteEpoch(roomid: string, epoch: string): void {
    this.seen.noteEpoch(roomid, epoch);
  }

  /** Ends the hold: its messages not shown yet, in seq order (they now count as shown). */
  release(): RoomMessage[] {
    const held = this.held;
    this.held = null;
    if (!held) return [];
    return [...held.messages.keys()]
      .sort((a, b) => a - b)
      .filter((seq) => this.seen.addRoomMessage(held.roomid, seq, held.messages.get(seq)!.epoch, held.messages.get(seq)!.id))
      .map((seq) => held.messages.get(seq)!);
  }

  /** Ends the hold without showing: not shown, not seen, so the next resume brings them again. */
  discard(): void {
    this.held = null;
  }

  /** The highest seq shown of `roomid`, if any. */
  lastSeq(roomid: string): number | undefined {
    return this.seen.lastSeq(roomid);
  }

  /** The epoch of `roomid` that `lastSeq` counts in, if the server gave one. */
  epochOf(roomid: string): string | undefined {
    return this.seen.epochOf(roomid);
  }

  /** Notes the ids of a message shown, so that `#recall` can be given their short form. */
  shown(message: ServerMessage): void {
    if ((message.type === 'message' || message.type === 'dm') && message.id !== undefined) this.ids.remember(message.id);
    if (message.type === 'history' || message.type === 'dmhistory') {
      for (const m of message.messages) if (m.id !== undefined) this.ids.remember(m.id);
    }
  }
}
