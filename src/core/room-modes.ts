import type { RoomBanEntry } from '../protocol/messages';

/** What a room keeps about who may enter it: invite-only or not, invitations and bans. */
export interface RoomModesSnapshot {
  private: boolean;
  invited: string[];
  bans: RoomBanEntry[];
}

/**
 * A room's entry rules. Names are identities as typed (case-sensitive, like identities). A ban
 * with `until` 0 lasts until lifted; an expired one is dropped the next time it is looked at,
 * so nothing needs a timer.
 */
export class RoomModes {
  private isPrivate = false;
  private readonly invited = new Set<string>();
  private readonly bans = new Map<string, RoomBanEntry>();

  static from(snapshot: RoomModesSnapshot): RoomModes {
    const modes = new RoomModes();
    modes.isPrivate = snapshot.private;
    for (const name of snapshot.invited) modes.invited.add(name);
    for (const ban of snapshot.bans) modes.bans.set(ban.identity, { ...ban });
    return modes;
  }

  get private(): boolean {
    return this.isPrivate;
  }

  setPrivate(on: boolean): void {
    this.isPrivate = on;
  }

  isInvited(name: string): boolean {
    return this.invited.has(name);
  }

  invite(name: string): void {
    this.invited.add(name);
  }

  /** False when the name had no invitation. */
  uninvite(name: string): boolean {
    return this.invited.delete(name);
  }

  get invitedCount(): number {
    return this.invited.size;
  }

  /** Bans in force at `now` (expired ones are dropped on the way). */
  bansInForce(now: number): number {
    for (const name of [...this.bans.keys()]) this.banOf(name, now);
    return this.bans.size;
  }

  /** The ban on `name` in force at `now`, if any. */
  banOf(name: string, now: number): RoomBanEntry | undefined {
    const ban = this.bans.get(name);
    if (ban && ban.until !== 0 && ban.until <= now) {
      this.bans.delete(name);
      return undefined;
    }
    return ban;
  }

  /** Bans (or re-bans) `name`; a banned name loses its invitation. */
  ban(entry: RoomBanEntry): void {
    this.bans.set(entry.identity, entry);
    this.invited.delete(entry.identity);
  }

  /** False when `name` was not banned (or its ban had run out). */
  unban(name: string, now: number): boolean {
    return this.banOf(name, now) !== undefined && this.bans.delete(name);
  }

  /** The rules in force at `now`, in a stable order (for replies and the store). */
  snapshot(now: number): RoomModesSnapshot {
    this.bansInForce(now);
    return {
      private: this.isPrivate,
      invited: [...this.invited].sort(),
      bans: [...this.bans.values()].sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0)),
    };
  }
}
