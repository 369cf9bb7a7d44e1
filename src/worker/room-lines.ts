import { foldName } from '../protocol/rules';

/** The lines of a room frame minus those whose sender the member blocks (`blocked` holds folded names). */
export function withoutBlocked(msg: { senders: string[]; offsets: number[]; lines: Buffer }, blocked: ReadonlySet<string>): Buffer {
  const kept: Buffer[] = [];
  for (let i = 0; i < msg.senders.length; i++) {
    if (!blocked.has(foldName(msg.senders[i]!))) kept.push(msg.lines.subarray(msg.offsets[i], msg.offsets[i + 1]));
  }
  return kept.length === msg.senders.length ? msg.lines : Buffer.concat(kept);
}
