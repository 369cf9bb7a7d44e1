/**
 * The entries of the cluster log: one discriminated union on `type`, validated when decoded
 * (a replica never applies an entry it cannot read: it logs and skips it).
 *
 * Everything a replica needs to decide is in the entry, fixed by the proposer: `ts` (the
 * proposer's clock, the replica's clock while it applies the entry), message ids. Replicas
 * read no clock and no randomness while applying, so every replica reaches the same state.
 * `pid` is the proposal's id: the JetStream message id (Nats-Msg-Id, deduplicated within the
 * stream's duplicate window, so a retried publish is applied once) and how the proposer finds
 * its own entry when it comes back.
 */

import type { Outcome } from '../hub/outcomes';
import type { Attachment } from '../protocol/messages';
import { isValidIdentity } from '../protocol/rules';
import { parseClientLine } from '../protocol/validate';

/** Session keys in the cluster: `<nodeId>/<workerId>:<id>`, unique across the nodes. */
const SESSION_KEY = /^[A-Za-z0-9_-]{1,64}\/\d{1,9}:\d{1,15}$/;
const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The core requests a replica applies (who and list are read-only: answered locally). */
export type ReplicatedRequest =
  | { type: 'identitychange'; identity: string }
  | { type: 'join'; roomid: string }
  | { type: 'createroom'; roomid: string; private?: boolean }
  | { type: 'delete'; roomid: string }
  | { type: 'quit' };

interface Base {
  pid: string;
  /** The proposer's clock, ms since the epoch. */
  ts: number;
}

export type LogEntry = Base &
  (
    | /** A node (re)starts: sessions left by an earlier run under this node id are dropped. */ { type: 'node-start'; node: string }
    | /** A node's heartbeat lapsed: its sessions leave as dropped connections (idempotent). */ { type: 'node-gone'; node: string; by: string }
    | /** A client connected to a node: it gets a guest name and MainHall. */ { type: 'connect'; key: string }
    | /** A client's connection closed. */ { type: 'disconnect'; key: string }
    | /** A state-changing core request. */ { type: 'request'; key: string; request: ReplicatedRequest }
    | /** A room message: its id is fixed here, its seq by its place in the log; `attachment`: the file it carries, as its node recorded it. */ {
        type: 'chat';
        key: string;
        id: string;
        content: string;
        attachment?: Attachment;
      }
    | /** What an account-level request decided on its node, after the store work (src/hub/outcomes.ts). */ { type: 'outcome'; key: string; outcome: Outcome }
    | /** Accounts the shared store has that the log never registered (made before the cluster): reserved. */ { type: 'accounts'; usernames: string[] }
  );

export type LogEntryType = LogEntry['type'];

/** The node a session key belongs to (the part before `/`). */
export function nodeOfKey(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

/** Encodes an entry for the log (JSON, UTF-8). */
export function encodeEntry(entry: LogEntry): Uint8Array {
  return Buffer.from(JSON.stringify(entry));
}

/**
 * Decodes and validates one log entry. Throws an Error saying what is wrong (the caller logs
 * it with the entry's stream seq and skips it).
 */
export function decodeEntry(data: Uint8Array): LogEntry {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw new Error('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  const e = value as Record<string, unknown>;
  if (typeof e.pid !== 'string' || e.pid.length === 0 || e.pid.length > 128) throw new Error('bad pid');
  if (typeof e.ts !== 'number' || !Number.isSafeInteger(e.ts) || e.ts < 0) throw new Error('bad ts');
  switch (e.type) {
    case 'node-start':
      need(NODE_ID.test(str(e.node)), 'node');
      return e as unknown as LogEntry;
    case 'node-gone':
      need(NODE_ID.test(str(e.node)) && NODE_ID.test(str(e.by)), 'node or by');
      return e as unknown as LogEntry;
    case 'connect':
    case 'disconnect':
      need(SESSION_KEY.test(str(e.key)), 'key');
      return e as unknown as LogEntry;
    case 'chat':
      need(SESSION_KEY.test(str(e.key)), 'key');
      need(typeof e.id === 'string' && e.id.length > 0 && e.id.length <= 64, 'id');
      need(typeof e.content === 'string', 'content');
      need(e.attachment === undefined || isAttachment(e.attachment), 'attachment');
      return e as unknown as LogEntry;
    case 'request':
      need(SESSION_KEY.test(str(e.key)), 'key');
      need(isReplicatedRequest(e.request), 'request');
      return e as unknown as LogEntry;
    case 'outcome':
      need(SESSION_KEY.test(str(e.key)), 'key');
      need(isOutcome(e.outcome), 'outcome');
      return e as unknown as LogEntry;
    case 'accounts':
      need(isUsernames(e.usernames), 'usernames');
      return e as unknown as LogEntry;
    default:
      throw new Error(`unknown entry type ${JSON.stringify(String(e.type).slice(0, 40))}`);
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function need(ok: boolean, field: string): void {
  if (!ok) throw new Error(`bad ${field}`);
}

/**
 * The request shapes a replica applies. Only the shape: the rules (a valid identity, a free
 * name, an existing room) are ChatState's, applied the same way on every replica.
 */
function isReplicatedRequest(v: unknown): v is ReplicatedRequest {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  switch (r.type) {
    case 'identitychange':
      return typeof r.identity === 'string';
    case 'join':
    case 'delete':
      return typeof r.roomid === 'string';
    case 'createroom':
      return typeof r.roomid === 'string' && (r.private === undefined || typeof r.private === 'boolean');
    case 'quit':
      return true;
    default:
      return false;
  }
}


/** Usernames an entry reserves at most (a longer list goes in several entries). */
export const MAX_USERNAMES_PER_ENTRY = 1000;

function isUsernames(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.length <= MAX_USERNAMES_PER_ENTRY && v.every((u) => typeof u === 'string' && isValidIdentity(u));
}

const CONSOLE_TYPES = new Set(['notice', 'disconnect', 'delete']);

const MODERATION = new Set(['private', 'invite', 'uninvite', 'kick', 'ban', 'unban', 'transfer', 'disconnect', 'notice']);

/**
 * The outcome shapes a replica applies. A moderation request is checked by the client
 * protocol's own validation (the same schema its client's line passed); the rules are
 * ChatState's, applied the same way on every replica.
 */
function isOutcome(v: unknown): v is Outcome {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  switch (o.type) {
    case 'reserve':
      return isUsernames(o.usernames);
    case 'login':
      return isValidIdentity(str(o.username)) && typeof o.admin === 'boolean';
    case 'logout':
      return true;
    case 'moderate': {
      const r = o.request as { type?: unknown } | null;
      if (typeof r !== 'object' || r === null || !MODERATION.has(String(r.type))) return false;
      return parseClientLine(JSON.stringify(r)).ok;
    }
    case 'dm': {
      const m = o.message as Record<string, unknown> | null;
      if (typeof m !== 'object' || m === null) return false;
      return (
        typeof m.id === 'string' &&
        m.id.length > 0 &&
        m.id.length <= 64 &&
        isValidIdentity(str(m.from)) &&
        isValidIdentity(str(m.to)) &&
        typeof m.content === 'string' &&
        Number.isSafeInteger(m.ts) &&
        (o.senderOnly === undefined || typeof o.senderOnly === 'boolean') &&
        (m.attachment === undefined || isAttachment(m.attachment))
      );
    }
    case 'recalled':
      return (
        typeof o.id === 'string' &&
        typeof o.roomid === 'string' &&
        Number.isSafeInteger(o.seq) &&
        typeof o.epoch === 'string' &&
        typeof o.by === 'string' &&
        (o.to === undefined || isValidIdentity(str(o.to)))
      );
    case 'resume-token':
    case 'reclaim':
      return typeof o.hash === 'string' && /^[0-9a-f]{64}$/.test(o.hash);
    case 'console': {
      // The shapes of the administrator's own requests, checked as their client lines are.
      const r = o.request as { type?: unknown } | null;
      if (typeof r !== 'object' || r === null || !CONSOLE_TYPES.has(String(r.type))) return false;
      return parseClientLine(JSON.stringify(r)).ok;
    }
    case 'presence':
      return isValidIdentity(str(o.username)) && (o.pair === undefined || isValidIdentity(str(o.pair)));
    case 'inbox-acked':
      return isValidIdentity(str(o.username)) && Number.isSafeInteger(o.upto) && (o.upto as number) >= 0;
    case 'away':
      return typeof o.on === 'boolean';
    case 'blocks':
      // Blocked names are any identities a client could have had (guests' too).
      return isValidIdentity(str(o.username)) && Array.isArray(o.blocked) && o.blocked.every((b) => typeof b === 'string' && b.length <= 64);
    default:
      return false;
  }
}

/** A file record as a chat entry or a DM outcome carries it (src/protocol/messages.ts, Attachment). */
function isAttachment(v: unknown): v is Attachment {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  return typeof a.id === 'string' && /^[0-9a-f]{64}$/.test(a.id) && typeof a.name === 'string' && Number.isSafeInteger(a.size) && typeof a.type === 'string' && typeof a.thumbnail === 'boolean';
}
