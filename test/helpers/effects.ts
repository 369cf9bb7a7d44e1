import type { Effect } from '../../src/core/effects';
import type { ServerMessage } from '../../src/protocol/messages';

/** Messages each session would receive from a list of ChatState effects, in order. */
export function inboxes(effects: Effect[]): Map<string, ServerMessage[]> {
  const out = new Map<string, ServerMessage[]>();
  for (const fx of effects) {
    if (fx.kind !== 'deliver') continue;
    for (const key of fx.to) {
      if (!out.has(key)) out.set(key, []);
      out.get(key)!.push(fx.message);
    }
  }
  return out;
}
