import { randomBytes } from 'node:crypto';

/**
 * A new room epoch: 16 lowercase hex digits of randomness (64 bits), the same form the store's
 * epochs migration and `switchboard restore` write. Random rather than counted, so that an
 * epoch is never handed out twice even by servers that do not share a history: a restored
 * backup, or a store that lost its last moments, cannot produce an epoch a client has seen.
 * Clients compare epochs; they must not parse or order them.
 */
export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}
