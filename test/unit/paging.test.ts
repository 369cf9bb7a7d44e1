import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageBackward } from '../../src/hub/paging';

/** A stored room: seqs 1..n, `visible` deciding what a reader sees; counts rows read. */
function room(n: number, visible: (seq: number) => boolean) {
  const reads = { rows: 0 };
  const fetch = async (before: number | null, k: number): Promise<number[]> => {
    const top = Math.min(before === null ? n + 1 : before, n + 1);
    const rows: number[] = [];
    for (let s = Math.max(1, top - k); s < top; s++) rows.push(s);
    reads.rows += rows.length;
    return rows;
  };
  const page = (before: number | null, limit: number, maxScanned?: number) => pageBackward(fetch, (s) => s, visible, before, limit, maxScanned);
  return { page, reads };
}

/** Follows `next` from the newest; every page within the scan bound. */
async function all(n: number, visible: (seq: number) => boolean, limit: number, maxScanned: number): Promise<number[]> {
  const { page, reads } = room(n, visible);
  const got: number[][] = [];
  let before: number | null = null;
  for (let i = 0; i < 10_000; i++) {
    reads.rows = 0;
    const p = await page(before, limit, maxScanned);
    assert.ok(reads.rows <= Math.max(maxScanned, limit + 1), `page read ${reads.rows} rows`);
    assert.ok(p.items.length <= limit);
    got.unshift(p.items);
    if (p.next === null) return got.flat();
    before = p.next;
  }
  assert.fail('paging did not end');
}

test('every visible item exactly once, in order, at any page size and whatever is left out', async () => {
  const cases: Array<[string, (s: number) => boolean]> = [
    ['all visible', () => true],
    ['none visible', () => false],
    ['one in 30', (s) => s % 30 === 1],
    ['only the oldest and the newest', (s) => s === 1 || s === 2000],
    ['a long hidden run in the middle', (s) => s < 100 || s > 1500],
  ];
  for (const [what, visible] of cases) {
    const expected = Array.from({ length: 2000 }, (_, i) => i + 1).filter(visible);
    for (const limit of [1, 7, 20, 200]) {
      for (const maxScanned of [50, 1000]) {
        assert.deepEqual(await all(2000, visible, limit, maxScanned), expected, `${what}, limit ${limit}, scan ${maxScanned}`);
      }
    }
  }
});

test('next is null exactly when nothing older is visible; a short page with next means "go on"', async () => {
  const { page } = room(10, () => true);
  assert.deepEqual(await page(null, 10), { items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], next: null }, 'a full last page has no next');
  assert.deepEqual(await page(null, 3), { items: [8, 9, 10], next: 8 });
  assert.deepEqual(await page(1, 3), { items: [], next: null });
  const hidden = room(500, (s) => s === 1);
  assert.deepEqual(await hidden.page(null, 5, 100), { items: [], next: 401 }, 'scan bound reached: empty page, and where to go on');
  assert.deepEqual(await hidden.page(null, 5, 1000), { items: [1], next: null });
});
