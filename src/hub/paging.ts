/**
 * Paging over stored items that a reader may not see all of (blocked senders): a page is
 * filled by scanning further, within a bound on the work of one request, and always says where
 * the next page starts. A short page with a `next` means "more may follow": a client reaches
 * every visible item exactly once by following `next` until it is null, at any page size and
 * whatever is filtered out.
 */

/** Rows one request may read at most, whatever it leaves out (bounded work per request). */
export const MAX_SCANNED_ROWS = 1000;

/** Rows read at a time once a first read came back with rows left out. */
const RESCAN_STEP = 100;

export interface BackwardPage<T> {
  /** Visible items, oldest first, at most `limit`. */
  items: T[];
  /** Pass as the next `before`: every visible item older than this page lies below it. Null: none older. */
  next: number | null;
}

/**
 * The newest `limit` visible items below `before` (null: from the newest).
 *
 * @param fetch   up to `n` stored items with position below `before` (null: the newest), oldest first
 * @param position an item's place (a room seq): unique, increasing in the order stored
 * @param visible whether the reader sees the item
 * @param maxScanned rows read at most (at least `limit + 1` are allowed, so a page of visible items is never cut short)
 */
export async function pageBackward<T>(
  fetch: (before: number | null, n: number) => Promise<T[]>,
  position: (item: T) => number,
  visible: (item: T) => boolean,
  before: number | null,
  limit: number,
  maxScanned = MAX_SCANNED_ROWS,
): Promise<BackwardPage<T>> {
  const budget = Math.max(maxScanned, limit + 1);
  const found: T[] = []; // newest first
  let cursor = before;
  let scanned = 0;
  for (;;) {
    // One more than needed: finding it proves an older page exists, so the last page is never
    // empty. Once rows were left out, read on in larger steps: fewer store round trips.
    const wanted = limit + 1 - found.length;
    const ask = Math.min(scanned === 0 ? wanted : Math.max(wanted, RESCAN_STEP), budget - scanned);
    const rows = await fetch(cursor, ask);
    scanned += rows.length;
    for (let i = rows.length - 1; i >= 0; i--) {
      if (!visible(rows[i]!)) continue;
      found.push(rows[i]!);
      if (found.length > limit) {
        const page = found.slice(0, limit);
        const next = position(page[limit - 1]!);
        return { items: page.reverse(), next };
      }
    }
    if (rows.length < ask) return { items: found.reverse(), next: null };
    cursor = position(rows[0]!);
    if (scanned >= budget) return { items: found.reverse(), next: cursor };
  }
}
