import { performance } from 'node:perf_hooks';
import { isStoreError, type StoreErrorCode } from '../store/errors';
import type { Store } from '../store/store';
import { FastCounter, FastHistogram, LATENCY_BUCKETS_SECONDS } from './fast-metrics';

/**
 * Store error codes that are answers, not trouble: the store worked and said no. Any other
 * failure (unavailable, unreachable, busy, closed, a bug) makes the store not ready.
 */
const ANSWERS: ReadonlySet<StoreErrorCode> = new Set(['STORE_CONFLICT', 'STORE_UNKNOWN_ACCOUNT', 'STORE_UNKNOWN_ROOM', 'STORE_INBOX_FULL', 'STORE_UNSUPPORTED']);

/** A token hash no token can have (tokens hash to hex): the readiness probe's harmless delete. */
const PROBE_TOKEN_HASH = 'switchboard-readiness-probe';
/** A store that succeeded this recently needs no probe. */
const FRESH_MS = 5000;
/** The readiness probe's deadline. */
const PROBE_TIMEOUT_MS = 2000;

/** What the hub knows of its store's health, for `/readyz`. */
export interface StoreHealth {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
}

/**
 * A Store whose every operation is timed (`switchboard_store_operation_duration_seconds`) and
 * whose failures are counted by operation and code (`switchboard_store_errors_total`); the
 * last outcome feeds the readiness check. Operation names are the Store interface's methods
 * (a closed set).
 */
export class InstrumentedStore {
  readonly duration = new FastHistogram(
    'switchboard_store_operation_duration_seconds',
    'Store (SQLite or PostgreSQL) operation latency by operation (the Store method: appendRoomMessages, roomHistory, getAccount, ...).',
    LATENCY_BUCKETS_SECONDS,
    'operation',
  );
  readonly errors = new FastCounter('switchboard_store_errors_total', 'Store operations that failed, by error code (STORE_UNAVAILABLE, STORE_UNREACHABLE, STORE_BUSY, STORE_CONFLICT, ...).', 'code');
  readonly store: Store;
  private lastOkAt = 0;
  private lastFailure: { at: number; reason: string } | null = null;
  private probing: Promise<StoreHealth> | null = null;

  constructor(target: Store) {
    const wrapped = new Map<PropertyKey, unknown>();
    this.store = new Proxy(target, {
      get: (t, prop, receiver) => {
        const value: unknown = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        let w = wrapped.get(prop);
        if (w === undefined) wrapped.set(prop, (w = this.wrap(t, prop, value as (...args: unknown[]) => unknown)));
        return w;
      },
    });
  }

  /**
   * Whether the store takes writes now: the last operation's outcome when it succeeded within
   * the last few seconds; otherwise a probe (a delete of a token that cannot exist: a real
   * write statement that changes nothing), shared by concurrent callers.
   */
  health(): Promise<StoreHealth> {
    const now = Date.now();
    const failedLast = this.lastFailure !== null && this.lastFailure.at >= this.lastOkAt;
    if (!failedLast && now - this.lastOkAt < FRESH_MS) return Promise.resolve({ ok: true });
    this.probing ??= this.probe().finally(() => (this.probing = null));
    return this.probing;
  }

  private async probe(): Promise<StoreHealth> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<StoreHealth>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, reason: `the store did not answer within ${PROBE_TIMEOUT_MS} ms` }), PROBE_TIMEOUT_MS);
    });
    const answer = this.store.revokeToken(PROBE_TOKEN_HASH).then(
      (): StoreHealth => ({ ok: true }),
      (err: Error): StoreHealth => ({ ok: false, reason: `the store failed: ${isStoreError(err) ? err.code : 'error'}: ${err.message}` }),
    );
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private wrap(target: Store, op: string, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    return (...args: unknown[]) => {
      const started = performance.now();
      let result: unknown;
      try {
        result = fn.apply(target, args);
      } catch (err) {
        this.failed(op, started, err);
        throw err;
      }
      if (!(result instanceof Promise)) {
        this.succeeded(op, started);
        return result;
      }
      return result.then(
        (v: unknown) => {
          this.succeeded(op, started);
          return v;
        },
        (err: unknown) => {
          this.failed(op, started, err);
          throw err;
        },
      );
    };
  }

  private succeeded(op: string, started: number): void {
    this.duration.observeFor(op, (performance.now() - started) / 1000);
    this.lastOkAt = Date.now();
  }

  private failed(op: string, started: number, err: unknown): void {
    this.duration.observeFor(op, (performance.now() - started) / 1000);
    const code = isStoreError(err) ? err.code : 'STORE_FAILED';
    this.errors.incFor(code);
    if (ANSWERS.has(code as StoreErrorCode)) {
      this.lastOkAt = Date.now();
      return;
    }
    this.lastFailure = { at: Date.now(), reason: `${op} failed: ${code}: ${(err as Error)?.message ?? String(err)}` };
  }
}
