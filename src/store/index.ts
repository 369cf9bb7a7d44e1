/**
 * The store folder's public face: the Store interface and its types, the factory that picks
 * an implementation, the error type every implementation throws, and offline restore.
 * Implementations (SqliteStore, ...) are reached through `createStore`, not imported.
 */
export type { Account, DirectMessage, InboxEntry, PersistentRoom, RoomMessage, Store } from './store';
export { createStore, storeKind, type StoreKind } from './factory';
export { StoreError, isStoreError, type StoreErrorCode } from './errors';
export { restoreBackup } from './sqlite-backup';
