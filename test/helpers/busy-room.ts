import { sleep } from './wait';

/**
 * Test harness for the slow-consumer tests: a busy room that a member never reads.
 *
 * Sends `total` room messages of `content + i` (i = 0..total-1) as lines, in rounds of five
 * every 5 ms: with 16 KB contents, 16 MB, far past what the kernel buffers of an unread socket
 * hold, so the server's bound on that member's queue is reached. Paced by a member that does
 * read (`delivered`: how many it has received so far): at most 40 messages ahead of it (640 KB
 * at 16 KB, under a 1 MiB --max-outbound-bytes), so however busy this machine, only the member
 * that never reads can be a slow consumer (unpaced, a starved test process made its own reader
 * one). The pacing gives up after 30 s; the caller's own wait then reports what arrived.
 * `onSend(i)` is called as message i is sent.
 */
export async function sendPacedByReader(send: (lines: string) => void, delivered: () => number, content: string, total: number, onSend?: (i: number) => void): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let round = 0; round < total / 5; round++) {
    while (delivered() < (round - 8) * 5 && Date.now() < deadline) await sleep(2);
    let batch = '';
    for (let i = round * 5; i < round * 5 + 5; i++) {
      onSend?.(i);
      batch += JSON.stringify({ type: 'message', content: content + i }) + '\n';
    }
    send(batch);
    await sleep(5);
  }
}
