import { presenceState } from '../protocol/state';
import type { Presence } from '../protocol/types';

const LABEL = { online: 'online', away: 'away', dnd: 'do not disturb', offline: 'offline' } as const;

/** A coloured dot for a presence state, with its name for screen readers. */
export function PresenceDot({ presence, fallback }: { presence: Presence | undefined; fallback?: 'online' | 'offline' }) {
  const state = presence ? presenceState(presence) : fallback ?? 'offline';
  return <span class={`dot dot-${state}`} role="img" aria-label={LABEL[state]} title={LABEL[state] + (presence?.status ? ` — ${presence.status}` : '')} />;
}
