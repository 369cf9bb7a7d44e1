import type { ControlRequest } from '../protocol/messages';
import type { SessionView } from '../core/effects';
import { buildFrame, encodeFrame } from './frame-codec';
import { isFileAskFrame, type FileAnswerFrame, type FileAskFrame } from './file-messages';

/**
 * The messages between a worker and the hub over their Unix socket. Control messages are JSON
 * payloads (rare, small); the chat data path is binary so the hub routes on a small header and
 * forwards the encoded client line without re-encoding it per client.
 */
export const Kind = {
  // worker -> hub
  HELLO: 1,
  OPEN: 2,
  REQUEST: 3,
  CHAT: 4,
  CLOSE: 5,
  /** A files question of the worker's HTTP side (src/ipc/file-messages.ts). */
  FILE_ASK: 6,
  /**
   * `u32 id | lines`: lines the worker answered for the session itself (an `error`, `pong`, the
   * `hello` reply), sent back to it in turn with the replies to its earlier requests (Hub.handle).
   */
  IN_TURN: 8,
  // hub -> worker
  STATE: 10,
  TO_SESSIONS: 11,
  TO_ROOM: 12,
  END: 13,
  /** The answer to a FILE_ASK, by its correlation id. */
  FILE_ANSWER: 14,
  // an upgrade's hand-off of a session between workers (src/worker/hand-off.ts)
  /** worker -> hub: `u32 id | u32 toWorkerId`; the last frame the old worker sends for the session. */
  HANDOFF: 7,
  /** hub -> old worker: `u32 id | u32 newId` (0: not moved); nothing more for `id` follows it. */
  HANDED: 16,
  /** hub -> new worker: JSON {id, view}: the session is yours as `id`; its frames follow this one. */
  INCOMING: 15,
} as const;

/** A session as a worker registers it: `view` null means it still awaits its welcome. */
export interface RegisteredSession {
  id: number;
  view: SessionView | null;
  /** The client's remote address (for per-address limits). */
  address: string;
  /** Hash of the token it logged in with, so `logout` can revoke it after a hub restart. */
  tokenHash: string | null;
  /** Hash of its resume token, so it is still held on a drop after a hub restart. */
  resumeHash: string | null;
}

/**
 * What a worker mirrors of a session: the hub's view, whom it blocks (folded names, for room
 * filtering) and its token hashes (handed back in the next HELLO).
 */
export interface MirroredView extends SessionView {
  blocked: string[];
  tokenHash: string | null;
  resumeHash: string | null;
}

/** One room message line inside a TO_ROOM frame, with its sender for block filtering. */
export interface RoomLine {
  sender: string;
  line: Buffer;
}

export interface Hello {
  workerId: number;
  sessions: RegisteredSession[];
}

export type WorkerToHub =
  | { kind: typeof Kind.HELLO; hello: Hello }
  | { kind: typeof Kind.OPEN; id: number; address: string }
  | { kind: typeof Kind.REQUEST; id: number; request: ControlRequest }
  | { kind: typeof Kind.CHAT; id: number; content: string }
  | { kind: typeof Kind.CLOSE; id: number }
  | { kind: typeof Kind.FILE_ASK; frame: FileAskFrame }
  | { kind: typeof Kind.IN_TURN; id: number; lines: Buffer }
  | { kind: typeof Kind.HANDOFF; id: number; to: number };

export type HubToWorker =
  | { kind: typeof Kind.STATE; id: number; view: MirroredView }
  | { kind: typeof Kind.TO_SESSIONS; ids: number[]; line: Buffer }
  | { kind: typeof Kind.TO_ROOM; roomid: string; senders: string[]; offsets: number[]; lines: Buffer }
  | { kind: typeof Kind.END; id: number }
  | { kind: typeof Kind.FILE_ANSWER; frame: FileAnswerFrame }
  | { kind: typeof Kind.HANDED; id: number; newId: number }
  | { kind: typeof Kind.INCOMING; id: number; view: MirroredView | null };

const json = (kind: number, value: unknown): Buffer => encodeFrame(kind, Buffer.from(JSON.stringify(value)));

const idOnly = (kind: number, id: number): Buffer => buildFrame(kind, 4, (f, o) => f.writeUInt32BE(id, o));

export const encodeHello = (hello: Hello): Buffer => json(Kind.HELLO, hello);
export const encodeOpen = (id: number, address: string): Buffer => json(Kind.OPEN, { id, address });
export const encodeRequest = (id: number, request: ControlRequest): Buffer => json(Kind.REQUEST, { id, request });
export const encodeClose = (id: number): Buffer => idOnly(Kind.CLOSE, id);
export const encodeEnd = (id: number): Buffer => idOnly(Kind.END, id);
export const encodeState = (id: number, view: MirroredView): Buffer => json(Kind.STATE, { id, view });
export const encodeFileAsk = (frame: FileAskFrame): Buffer => json(Kind.FILE_ASK, frame);
export const encodeFileAnswer = (frame: FileAnswerFrame): Buffer => json(Kind.FILE_ANSWER, frame);
const twoIds = (kind: number, a: number, b: number): Buffer =>
  buildFrame(kind, 8, (f, o) => {
    f.writeUInt32BE(a, o);
    f.writeUInt32BE(b, o + 4);
  });
export const encodeHandoff = (id: number, to: number): Buffer => twoIds(Kind.HANDOFF, id, to);
export const encodeHanded = (id: number, newId: number): Buffer => twoIds(Kind.HANDED, id, newId);
export const encodeIncoming = (id: number, view: MirroredView | null): Buffer => json(Kind.INCOMING, { id, view });

export function encodeChat(id: number, content: string): Buffer {
  const bytes = Buffer.byteLength(content);
  return buildFrame(Kind.CHAT, 4 + bytes, (f, o) => {
    f.writeUInt32BE(id, o);
    f.write(content, o + 4, 'utf8');
  });
}

/** `lines`: whole server lines, each ended by `\n`. */
export function encodeInTurn(id: number, lines: string): Buffer {
  const bytes = Buffer.byteLength(lines);
  return buildFrame(Kind.IN_TURN, 4 + bytes, (f, o) => {
    f.writeUInt32BE(id, o);
    f.write(lines, o + 4, 'utf8');
  });
}

export function encodeToSessions(ids: number[], line: Buffer): Buffer {
  return buildFrame(Kind.TO_SESSIONS, 4 + 4 * ids.length + line.length, (f, o) => {
    f.writeUInt32BE(ids.length, o);
    for (let i = 0; i < ids.length; i++) f.writeUInt32BE(ids[i]!, o + 4 + 4 * i);
    line.copy(f, o + 4 + 4 * ids.length);
  });
}

/**
 * `u8 roomLen | room | u16 n | n × (u8 senderLen | sender | u32 lineLen) | lines`. Room ids and
 * identities are ASCII of at most 32 characters (protocol rules), so one length byte suffices.
 * The lines stay one contiguous block: a worker writes it whole to every member who blocks
 * nobody, and cuts it only for those who do.
 */
export function encodeToRoom(roomid: string, lines: RoomLine[]): Buffer {
  let size = 1 + roomid.length + 2;
  for (const l of lines) size += 1 + l.sender.length + 4 + l.line.length;
  return buildFrame(Kind.TO_ROOM, size, (f, o) => {
    f[o++] = roomid.length;
    o += f.write(roomid, o, 'latin1');
    f.writeUInt16BE(lines.length, o);
    o += 2;
    for (const l of lines) {
      f[o++] = l.sender.length;
      o += f.write(l.sender, o, 'latin1');
      f.writeUInt32BE(l.line.length, o);
      o += 4;
    }
    for (const l of lines) o += l.line.copy(f, o);
  });
}

export class IpcProtocolError extends Error {
  readonly code = 'IPC_PROTOCOL_ERROR';
}

/**
 * Decodes a worker's frame and checks its shape (ids are u32 integers, a HELLO lists sessions
 * as RegisteredSession, a REQUEST carries an object with a string `type`): a frame that is not
 * what a worker sends is an IpcProtocolError, never half-applied. The request's own fields were
 * validated by the worker (protocol/validate) and are not checked again.
 */
export function decodeWorkerToHub(kind: number, payload: Buffer): WorkerToHub {
  switch (kind) {
    case Kind.HELLO:
      return { kind, hello: asHello(parseJson(payload)) };
    case Kind.OPEN: {
      const { id, address } = parseJson(payload) as { id: unknown; address: unknown };
      return { kind, id: asId(id), address: asString(address, 'address') };
    }
    case Kind.CLOSE:
      return { kind, id: readId(payload) };
    case Kind.REQUEST: {
      const { id, request } = parseJson(payload) as { id: unknown; request: unknown };
      if (!isObject(request) || typeof request.type !== 'string') throw new IpcProtocolError('REQUEST frame without a request object');
      return { kind, id: asId(id), request: request as unknown as ControlRequest };
    }
    case Kind.CHAT:
      return { kind, id: readId(payload, true), content: payload.toString('utf8', 4) };
    case Kind.FILE_ASK: {
      const frame = parseJson(payload);
      if (!isFileAskFrame(frame)) throw new IpcProtocolError('FILE_ASK frame of an unknown shape');
      return { kind, frame };
    }
    case Kind.IN_TURN: {
      const id = readId(payload, true);
      if (payload.length === 4 || payload[payload.length - 1] !== 0x0a) throw new IpcProtocolError('IN_TURN frame without whole lines');
      // A copy: the payload is a view of the link's read buffer, and the lines may wait in the outbox.
      return { kind, id, lines: Buffer.from(payload.subarray(4)) };
    }
    case Kind.HANDOFF:
      if (payload.length !== 8) throw new IpcProtocolError(`HANDOFF frame of ${payload.length} bytes`);
      return { kind, id: payload.readUInt32BE(0), to: payload.readUInt32BE(4) };
    default:
      throw new IpcProtocolError(`unknown worker-to-hub frame kind ${kind}`);
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString());
  } catch {
    throw new IpcProtocolError('frame payload is not JSON');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function asId(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new IpcProtocolError(`session id ${JSON.stringify(v)} is not a u32`);
  return v;
}

/** The u32 id a binary frame starts with; `more`: bytes may follow it (CHAT content). */
function readId(payload: Buffer, more = false): number {
  if (more ? payload.length < 4 : payload.length !== 4) throw new IpcProtocolError(`id frame of ${payload.length} bytes`);
  return payload.readUInt32BE(0);
}

function asString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new IpcProtocolError(`${what} is not a string`);
  return v;
}

function asHello(v: unknown): Hello {
  if (!isObject(v) || !Number.isInteger(v.workerId) || (v.workerId as number) < 1 || !Array.isArray(v.sessions)) {
    throw new IpcProtocolError('HELLO without a positive integer workerId and a sessions array');
  }
  for (const s of v.sessions as unknown[]) {
    if (!isObject(s)) throw new IpcProtocolError('HELLO session is not an object');
    asId(s.id);
    asString(s.address, 'HELLO session address');
    if (s.tokenHash !== null) asString(s.tokenHash, 'HELLO session tokenHash');
    if (s.view !== null && !isView(s.view)) throw new IpcProtocolError('HELLO session view is not a SessionView');
  }
  return v as unknown as Hello;
}

function isView(v: unknown): v is SessionView {
  return (
    isObject(v) &&
    typeof v.identity === 'string' &&
    typeof v.roomid === 'string' &&
    Array.isArray(v.owned) &&
    v.owned.every((r) => typeof r === 'string') &&
    (v.username === null || typeof v.username === 'string')
  );
}

/** Decodes a hub frame; `line` views are copied, since a worker may queue them per socket. */
export function decodeHubToWorker(kind: number, payload: Buffer): HubToWorker {
  switch (kind) {
    case Kind.STATE: {
      const { id, view } = JSON.parse(payload.toString()) as { id: number; view: MirroredView };
      return { kind, id, view };
    }
    case Kind.TO_SESSIONS: {
      const n = payload.readUInt32BE(0);
      const ids: number[] = new Array(n);
      for (let i = 0; i < n; i++) ids[i] = payload.readUInt32BE(4 + 4 * i);
      return { kind, ids, line: Buffer.from(payload.subarray(4 + 4 * n)) };
    }
    case Kind.TO_ROOM: {
      let o = 0;
      const roomLen = payload[o++]!;
      const roomid = payload.toString('latin1', o, o + roomLen);
      o += roomLen;
      const n = payload.readUInt16BE(o);
      o += 2;
      const senders: string[] = new Array(n);
      const offsets: number[] = new Array(n + 1);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const senderLen = payload[o++]!;
        senders[i] = payload.toString('latin1', o, o + senderLen);
        o += senderLen;
        offsets[i] = at;
        at += payload.readUInt32BE(o);
        o += 4;
      }
      offsets[n] = at;
      return { kind, roomid, senders, offsets, lines: Buffer.from(payload.subarray(o)) };
    }
    case Kind.END:
      return { kind, id: payload.readUInt32BE(0) };
    case Kind.FILE_ANSWER:
      return { kind, frame: JSON.parse(payload.toString()) as FileAnswerFrame };
    case Kind.HANDED:
      return { kind, id: payload.readUInt32BE(0), newId: payload.readUInt32BE(4) };
    case Kind.INCOMING: {
      const { id, view } = JSON.parse(payload.toString()) as { id: number; view: MirroredView | null };
      return { kind, id, view };
    }
    default:
      throw new IpcProtocolError(`unknown hub-to-worker frame kind ${kind}`);
  }
}
