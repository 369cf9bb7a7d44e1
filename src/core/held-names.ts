import { foldName } from '../protocol/rules';

/** What a connection that dropped without `quit` leaves held for its owner to reclaim. */
export interface HeldSession {
  /** The identity it had, as spelled. */
  identity: string;
  /** The room it was in. */
  roomid: string;
  /** The account it was logged in as, or null for a guest. */
  username: string | null;
  /** Hash of its resume token (see auth/tokens): whoever presents the token reclaims the hold. */
  tokenHash: string;
  /** When the hold lapses (ms since the epoch, on ChatState's clock). */
  until: number;
}

/**
 * Identities held for a grace period after their connection dropped (`reconnectGraceMs`), so
 * that a client reconnecting with its resume token gets its name and room back and nobody is
 * handed that name meanwhile. Bounded by `maxHeldNames`: when full, the oldest hold lapses
 * early. Lapsed holds are dropped the next time the holds are looked at, so nothing needs a
 * timer (and a replica replaying the same requests with the same clock reaches the same holds).
 */
export class HeldNames {
  /** Folded identity -> hold, in the order held: with one grace period, also by expiry. */
  private readonly byName = new Map<string, HeldSession>();
  private readonly byToken = new Map<string, HeldSession>();

  constructor(
    private readonly graceMs: number,
    private readonly maxHeld: number,
    /** Told of each name that becomes free again (lapsed or evicted, not reclaimed). */
    private readonly freed: (identity: string) => void,
  ) {}

  /** Holds `session` until `now + graceMs`; a no-op when holding is off (grace 0). */
  hold(session: Omit<HeldSession, 'until'>, now: number): void {
    if (this.graceMs <= 0 || this.maxHeld <= 0) return;
    this.sweep(now);
    this.release(this.byName.get(nameKey(session)));
    this.release(this.byToken.get(session.tokenHash));
    while (this.byName.size >= this.maxHeld) this.lapse(this.byName.values().next().value!);
    const held: HeldSession = { ...session, until: now + this.graceMs };
    this.byName.set(nameKey(held), held);
    this.byToken.set(held.tokenHash, held);
  }

  /** True when `identity` (any case) is held at `now`. */
  isHeld(identity: string, now: number): boolean {
    this.sweep(now);
    return this.byName.has(foldName(identity));
  }

  /** The hold the token would reclaim; undefined when none (or lapsed). */
  find(tokenHash: string, now: number): HeldSession | undefined {
    this.sweep(now);
    return this.byToken.get(tokenHash);
  }

  /** Ends a hold because its owner took it back (the name is not freed: the claimant has it). */
  release(held: HeldSession | undefined): void {
    if (!held) return;
    this.byName.delete(nameKey(held));
    this.byToken.delete(held.tokenHash);
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every hold, lapsed or not, oldest first: what a snapshot keeps (src/core/state-image.ts). */
  list(): HeldSession[] {
    return [...this.byName.values()].map((held) => ({ ...held }));
  }

  /** Puts back holds as `list` gave them, in that order (into an empty set: a snapshot's restore). */
  load(holds: readonly HeldSession[]): void {
    for (const held of holds) {
      const copy = { ...held };
      this.byName.set(nameKey(copy), copy);
      this.byToken.set(copy.tokenHash, copy);
    }
  }

  /** Drops the holds lapsed at `now` (telling `freed` of each). */
  sweep(now: number): void {
    for (const held of this.byName.values()) {
      if (held.until > now) return;
      this.lapse(held);
    }
  }

  private lapse(held: HeldSession): void {
    this.release(held);
    this.freed(held.identity);
  }
}

/**
 * Where a hold is kept: a guest's by its name (one holder per name); an account's by name and
 * token, since several of its devices may drop and each hold its own room. (An account's name
 * is reserved anyway: `isHeld` matters for guest names only.)
 */
function nameKey(held: { identity: string; username: string | null; tokenHash: string }): string {
  return held.username === null ? foldName(held.identity) : `${foldName(held.identity)}\n${held.tokenHash}`;
}
