import type { DirectMessage, RoomMessage } from './types';

/**
 * The messages of one room as the app shows them: one epoch's messages in `seq` order, each
 * once. Live messages, `history` pages and `resume` replays overlap (a message may come live and
 * again in a resume, PROTOCOL.md "Gaps and resume"), so every insert dedupes by `id` and by
 * `seq`, and a message of another epoch resets the timeline (the room's sequence restarted).
 */
export class RoomTimeline {
  /** The epoch the seqs count in; "" until the first message or history reply. */
  epoch = '';
  /** Messages in ascending `seq`. */
  readonly messages: RoomMessage[] = [];
  /** Where older messages start (`history.next`): undefined before the first page, null at the start. */
  next: number | null | undefined = undefined;
  private readonly ids = new Set<string>();
  private readonly seqs = new Set<number>();

  /** The highest seq held, 0 if none: what a `resume` after a drop starts from. */
  get lastSeq(): number {
    return this.messages.length === 0 ? 0 : this.messages[this.messages.length - 1]!.seq;
  }

  /** Whether scrolling back has reached the room's first message. */
  get atStart(): boolean {
    return this.next === null;
  }

  /**
   * Takes a message's epoch into account: a different non-empty epoch means the room's sequence
   * restarted, so everything held is forgotten (its seqs mean nothing in the new sequence).
   * @returns true when the timeline was reset
   */
  adoptEpoch(epoch: string): boolean {
    if (epoch === '' || epoch === this.epoch) return false;
    const reset = this.epoch !== '';
    this.epoch = epoch;
    if (reset) {
      this.messages.length = 0;
      this.ids.clear();
      this.seqs.clear();
      this.next = undefined;
    }
    return reset;
  }

  /**
   * Inserts a message in seq order unless held already (same id or same seq).
   * @returns true when it was new
   */
  insert(message: RoomMessage): boolean {
    this.adoptEpoch(message.epoch);
    if (this.ids.has(message.id) || this.seqs.has(message.seq)) return false;
    this.ids.add(message.id);
    this.seqs.add(message.seq);
    const list = this.messages;
    let i = list.length;
    // Nearly always appended at the end: walk back from there.
    while (i > 0 && list[i - 1]!.seq > message.seq) i--;
    list.splice(i, 0, { ...message });
    return true;
  }

  /** Blanks a recalled message (content erased, attachment dropped); false when not held. */
  recall(id: string): boolean {
    return blankRecalled(this.messages, id);
  }

  /** Seqs missing between the first and the last held message (for tests and gap checks). */
  gaps(): number[] {
    const missing: number[] = [];
    for (let i = 1; i < this.messages.length; i++) {
      for (let s = this.messages[i - 1]!.seq + 1; s < this.messages[i]!.seq; s++) missing.push(s);
    }
    return missing;
  }
}

/**
 * The DMs between the user and one peer, oldest first, each once (live copies, inbox deliveries
 * and `dmhistory` pages overlap; PROTOCOL.md: "Clients drop a DM whose id they already have").
 */
export class DmThread {
  readonly messages: DirectMessage[] = [];
  /** `dmhistory.next` of the oldest page: undefined before the first page, null at the start. */
  next: number | null | undefined = undefined;
  /** DMs from the peer not seen yet. */
  unread = 0;
  private readonly ids = new Set<string>();

  constructor(readonly peer: string) {}

  /** @returns true when the DM was new. Ordered by `ts`, ties in arrival order. */
  insert(dm: DirectMessage): boolean {
    if (this.ids.has(dm.id)) return false;
    this.ids.add(dm.id);
    const list = this.messages;
    let i = list.length;
    while (i > 0 && list[i - 1]!.ts > dm.ts) i--;
    const copy: DirectMessage = { ...dm };
    delete copy.inbox;
    list.splice(i, 0, copy);
    return true;
  }

  /** Blanks a recalled DM; false when not held. */
  recall(id: string): boolean {
    return blankRecalled(this.messages, id);
  }

  get last(): DirectMessage | undefined {
    return this.messages[this.messages.length - 1];
  }
}

/**
 * Blanks message `id` of `messages` as a recall shows it (PROTOCOL.md "recall"): marked
 * recalled, its content erased and its attachment dropped. False when it is not there.
 */
function blankRecalled(messages: Array<{ id: string; content: string; recalled?: boolean; attachment?: unknown }>, id: string): boolean {
  const m = messages.find((x) => x.id === id);
  if (!m) return false;
  m.recalled = true;
  m.content = '';
  delete m.attachment;
  return true;
}
