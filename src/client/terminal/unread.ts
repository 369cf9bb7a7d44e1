/**
 * Unread counts: per room (messages from others since the user last typed a line there) and
 * per direct-message conversation (since the user last wrote to, or read, that conversation).
 * Shown in the prompt, the client's status line, and by `/dms`. Bounded: at most
 * `MAX_CONVERSATIONS` conversations are remembered (the oldest first forgotten).
 */

export const MAX_CONVERSATIONS = 500;

export class Unread {
  private readonly rooms = new Map<string, number>();
  /** Conversations by the other person's name (lower case) → shown name and unread count. */
  private readonly dms = new Map<string, { name: string; unread: number; last: number }>();

  roomMessage(roomid: string): void {
    this.rooms.set(roomid, (this.rooms.get(roomid) ?? 0) + 1);
  }

  /** The user typed a line in `roomid`: what was there is read. */
  readRoom(roomid: string): void {
    this.rooms.delete(roomid);
  }

  /** A DM with `other`; `incoming`: from them (unread until read). */
  dm(other: string, incoming: boolean, ts: number = Date.now()): void {
    const key = other.toLowerCase();
    const entry = this.dms.get(key) ?? { name: other, unread: 0, last: ts };
    entry.last = ts;
    if (incoming) entry.unread++;
    else entry.unread = 0;
    this.dms.delete(key);
    this.dms.set(key, entry);
    for (const old of this.dms.keys()) {
      if (this.dms.size <= MAX_CONVERSATIONS) break;
      this.dms.delete(old);
    }
  }

  /** The conversation with `other` was read (`/dmhistory`, a reply). */
  readDm(other: string): void {
    const entry = this.dms.get(other.toLowerCase());
    if (entry) entry.unread = 0;
  }

  /** The conversations, most recent first. */
  conversations(): Array<{ name: string; unread: number; last: number }> {
    return [...this.dms.values()].reverse();
  }

  /** For the status line: `MainHall 3, @bob 2`; empty when nothing is unread. */
  summary(currentRoom: string): string {
    const parts: string[] = [];
    for (const [room, n] of this.rooms) if (n > 0 && room !== currentRoom) parts.push(`${room} ${n}`);
    const here = this.rooms.get(currentRoom) ?? 0;
    if (here > 0) parts.unshift(`${currentRoom} ${here}`);
    for (const { name, unread } of this.dms.values()) if (unread > 0) parts.push(`@${name} ${unread}`);
    return parts.join(', ');
  }
}
