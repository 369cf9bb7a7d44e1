import { ErrorCode } from '../protocol/errors';
import { isStoreError } from '../store/errors';

/**
 * The wire code for a request the store failed: STORE_UNREACHABLE when its database server
 * cannot be reached (a transient outage: the client may send it again once it is back),
 * STORE_FAILED for every other store failure. Either way nothing was delivered or changed
 * (docs/PROTOCOL.md, "Store failures").
 */
export function storeRefusalCode(err: unknown): typeof ErrorCode.STORE_FAILED | typeof ErrorCode.STORE_UNREACHABLE {
  return isStoreError(err, 'STORE_UNREACHABLE') ? ErrorCode.STORE_UNREACHABLE : ErrorCode.STORE_FAILED;
}

/** The words that go with it: why, then what the caller adds (e.g. "it was not delivered"). */
export function storeRefusalReason(err: unknown): string {
  return isStoreError(err, 'STORE_UNREACHABLE') ? 'the store cannot be reached right now (it is retried by itself; send it again later)' : 'the store failed';
}
