import type { RoomBanEntry } from '../protocol/messages';
import { foldName } from '../protocol/rules';

/** What a room keeps about who may enter it: invite-only or not, invitations and bans. */
export interface RoomModesSnapshot {
  private: boolean;
  invited: string[];
  bans: RoomBanEntry[];
}

/**
 * A room's entry rules. Names are identities, compared case-insensitively as identities are
 * (foldName): a ban on `Bob` bars `bob`; each entry keeps the spelling it was given. A ban
 * with `until` 0 lasts until lifted; an expired one is dropped the next time it is looked at,
 * so nothing needs a timer.
 */
export class RoomModes {
  private isPrivate = false;
  /** Folded name -> the name as invited. */
  private readonly invited = new Map<string, string>();
  /** Folded name -> the ban. */
  private readonly bans = new Map<string, RoomBanEntry>();

  /** Rules as stored; entries stored under names differing only by case collapse into one. */
  static from(snapshot: RoomModesSnapshot): RoomModes {
    const modes = new RoomModes();
    modes.isPrivate = snapshot.private;
    for (const name of snapshot.invited) modes.invited.set(foldName(name), name);
    for (const ban of snapshot.bans) modes.bans.set(foldName(ban.identity), { ...ban });
    return modes;
  }

  get private(): boolean {
    return this.isPrivate;
  }

  setPrivate(on: boolean): void {
    this.isPrivate = on;
  }

  isInvited(name: string): boolean {
    return this.invited.has(foldName(name));
  }

  invite(name: string): void {
    this.invited.set(foldName(name), name);
  }

  /** False when the name had no invitation. */
  uninvite(name: string): boolean {
    return this.invited.delete(foldName(name));
  }

  get invitedCount(): number {
    return this.invited.size;
  }

  /** Bans in force at `now` (expired ones are dropped on the way). */
  bansInForce(now: number): number {
    for (const ban of [...this.bans.values()]) this.banOf(ban.identity, now);
    return this.bans.size;
  }

  /** The ban on `name` in force at `now`, if any. */
  banOf(name: string, now: number): RoomBanEntry | undefined {
    const key = foldName(name);
    const ban = this.bans.get(key);
    if (ban && ban.until !== 0 && ban.until <= now) {
      this.bans.delete(key);
      return undefined;
    }
    return ban;
  }

  /** Bans (or re-bans) `name`; a banned name loses its invitation. */
  ban(entry: RoomBanEntry): void {
    const key = foldName(entry.identity);
    this.bans.set(key, entry);
    this.invited.delete(key);
  }

  /** False when `name` was not banned (or its ban had run out). */
  unban(name: string, now: number): boolean {
    return this.banOf(name, now) !== undefined && this.bans.delete(foldName(name));
  }

  /**
   * Every entry as kept, expired bans included and nothing dropped on the way (unlike
   * `snapshot`, this reads without changing anything): what a cluster snapshot keeps.
   */
  image(): RoomModesSnapshot {
    return { private: this.isPrivate, invited: [...this.invited.values()], bans: [...this.bans.values()].map((b) => ({ ...b })) };
  }

  /** The rules in force at `now`, in a stable order (for replies and the store). */
  snapshot(now: number): RoomModesSnapshot {
    this.bansInForce(now);
    return {
      private: this.isPrivate,
      invited: [...this.invited.values()].sort(),
      bans: [...this.bans.values()].sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0)),
    };
  }
}
