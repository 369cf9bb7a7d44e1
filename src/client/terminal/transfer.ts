/**
 * File transfer of the terminal client: `/send PATH [to USER]` uploads a file (POST /files,
 * docs/PROTOCOL.md "Files and attachments") and sends it to the room, or as a DM to USER;
 * `/get ID [PATH]` downloads one. Both over HTTP to the server's `--http-port`, with the
 * login token, and a progress line. The HTTP address is `--http URL` of `switchboard connect`,
 * else the HTTP listener the server advertises in its `hello` reply (docs/PROTOCOL.md), on the
 * host the client connected to.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { formatBytes } from './byte-size';
import type { CommandSpec, InputAction } from './command-spec';
import type { ClientMessage } from './wire';

/** A progress line at most this often. */
const PROGRESS_EVERY_MS = 500;

/** What a typed `/send` or `/get` asks for. */
export type Transfer = { op: 'send'; path: string; to: string | null } | { op: 'get'; id: string; path: string | null };

const FILE_ID = /^[0-9a-f]{64}$/;

/** The commands, spread into the command table (src/client/terminal/commands.ts). */
export const TRANSFER_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  send: {
    synopsis: 'PATH [to USER]',
    summary: 'upload a file and send it to your room (to USER: as a direct message)',
    parse: (words, rest): InputAction | null => {
      if (words.length === 0) return null;
      const m = /^(.*\S)\s+to\s+(\S+)$/.exec(rest);
      return m ? { kind: 'transfer', transfer: { op: 'send', path: m[1]!, to: m[2]! } } : { kind: 'transfer', transfer: { op: 'send', path: rest, to: null } };
    },
  },
  get: {
    synopsis: 'ID [PATH]',
    summary: 'download the file of a message (its id, as shown in [file ...]); default: its name, here',
    parse: (words, rest): InputAction | null => {
      if (words.length === 0 || !FILE_ID.test(words[0]!)) return null;
      const target = rest.slice(words[0]!.length).trim();
      return { kind: 'transfer', transfer: { op: 'get', id: words[0]!, path: target === '' ? null : target } };
    },
  },
};

/** What a transfer needs of the session. */
export interface TransferContext {
  /** e.g. `http://127.0.0.1:8080`; null: the server has no HTTP listener (none advertised). */
  httpBase: string | null;
  /** Our login token, or null (a guest: files need an account). */
  token: string | null;
  /** The name of a file from its attachment record seen in this session, or null. */
  nameOf(id: string): string | null;
  /** Shows a line that stays (the outcome, the last progress line). */
  show(line: string): void;
  /** Shows a passing progress line (interactive: replaced by the next); null: none (line mode). */
  progress: ((line: string) => void) | null;
  /** Sends the message that carries an upload. */
  send(message: ClientMessage): void;
  /**
   * How an `https:` address is verified: the trust of the chat connection (`--ca FILE`,
   * `--insecure`), so the same self-signed pair serves both; absent: the system's CAs.
   */
  tls?: HttpsTrust;
}

/** The TLS trust of a transfer over HTTPS (node:https request options). */
export interface HttpsTrust {
  /** PEM of the CA to trust (`--ca FILE`), instead of the system's. */
  ca?: string;
  /** False with `--insecure`: encrypted, but the server is not authenticated. */
  rejectUnauthorized: boolean;
}

/**
 * `verb name: 42% (1.0 MiB of 2.4 MiB)`: passing lines (`ctx.progress`) at most every
 * PROGRESS_EVERY_MS while under way, then one that stays at the end.
 */
function progress(ctx: TransferContext, verb: string, name: string, total: number | null): (done: number, final?: boolean) => void {
  let last = 0;
  return (done, final = false) => {
    const now = Date.now();
    if (!final && (ctx.progress === null || now - last < PROGRESS_EVERY_MS)) return;
    last = now;
    const of = total === null ? formatBytes(done) : `${total === 0 ? 100 : Math.floor((100 * done) / total)}% (${formatBytes(done)} of ${formatBytes(total)})`;
    (final ? ctx.show : ctx.progress!)(`${verb} ${name}: ${of}`);
  };
}

/**
 * Runs a transfer to its end; every failure is shown, never thrown. Resolves true when it
 * succeeded, false when it failed (a guest, no HTTP listener, a local file missing, refused by
 * the server, unreachable): the session counts that as a failed command (exit code 3 piped).
 */
export async function runTransfer(transfer: Transfer, ctx: TransferContext): Promise<boolean> {
  if (ctx.token === null) {
    ctx.show('Files need an account: /login first');
    return false;
  }
  if (ctx.httpBase === null) {
    ctx.show('The server has no HTTP listener: /send and /get need one (if it has one after all, give its address with --http URL)');
    return false;
  }
  const failed = transfer.op === 'send' ? 'Upload failed' : 'Download failed';
  try {
    if (transfer.op === 'send') await upload(transfer, ctx, ctx.httpBase);
    else await download(transfer, ctx, ctx.httpBase);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') {
      // The address tried is the likeliest mistake: say which it was and how to give another.
      ctx.show(`${failed}: connection refused at ${ctx.httpBase} (the server's HTTP port is elsewhere? give it with --http URL)`);
    } else {
      ctx.show(`${failed}: ${(err as Error).message}`);
    }
    return false;
  }
}

function request(url: URL, options: http.RequestOptions, trust: HttpsTrust | undefined): http.ClientRequest {
  return url.protocol === 'https:' ? https.request(url, { ...options, ...trust }) : http.request(url, options);
}

function errorOf(status: number, body: string): Error {
  try {
    const e = JSON.parse(body) as { error?: string; message?: string };
    return new Error(`${e.error ?? status}: ${e.message ?? ''}`);
  } catch {
    return new Error(`HTTP ${status}`);
  }
}

async function upload(t: Extract<Transfer, { op: 'send' }>, ctx: TransferContext, base: string): Promise<void> {
  const file = path.resolve(t.path);
  const stat = await fs.promises.stat(file);
  if (!stat.isFile()) throw new Error(`${t.path} is not a file`);
  const name = path.basename(file);
  const url = new URL(`/files?name=${encodeURIComponent(name)}`, base);
  const shown = progress(ctx, 'Uploading', name, stat.size);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { Authorization: `Bearer ${ctx.token}`, 'Content-Length': stat.size, 'Content-Type': 'application/octet-stream' } }, ctx.tls);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    let sent = 0;
    const source = fs.createReadStream(file);
    source.on('data', (chunk) => {
      sent += chunk.length;
      shown(sent);
    });
    source.on('error', (err) => req.destroy(err));
    source.pipe(req);
  });
  if (answer.status !== 201) throw errorOf(answer.status, answer.body);
  shown(stat.size, true);
  const uploaded = JSON.parse(answer.body) as { id: string };
  const attachment = { id: uploaded.id };
  ctx.send(t.to === null ? { type: 'message', content: '', attachment } : { type: 'dm', to: t.to, content: '', attachment });
}

async function download(t: Extract<Transfer, { op: 'get' }>, ctx: TransferContext, base: string): Promise<void> {
  const url = new URL(`/files/${t.id}`, base);
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { Authorization: `Bearer ${ctx.token}` } }, ctx.tls);
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => reject(errorOf(res.statusCode ?? 0, body)));
        return;
      }
      const suggested = safeBasename(ctx.nameOf(t.id) ?? '') ?? suggestedName(res.headers['content-disposition']) ?? t.id;
      // A name of our choosing never replaces a file; a PATH the user typed is theirs to reuse.
      let target = t.path === null ? freeName(suggested) : t.path;
      if (t.path !== null && fs.existsSync(target) && fs.statSync(target).isDirectory()) target = freeName(path.join(target, suggested));
      const total = Number(res.headers['content-length'] ?? NaN);
      const shown = progress(ctx, 'Downloading', path.basename(target), Number.isFinite(total) ? total : null);
      const partial = `${target}.part`;
      const out = fs.createWriteStream(partial, { mode: 0o600 });
      let got = 0;
      res.on('data', (chunk: Buffer) => {
        got += chunk.length;
        shown(got);
      });
      res.on('error', (err) => out.destroy(err));
      out.on('error', (err) => {
        fs.rm(partial, { force: true }, () => reject(err));
      });
      out.on('finish', () => {
        fs.rename(partial, target, (err) => {
          if (err) return reject(err);
          shown(got, true);
          ctx.show(`Saved ${target}`);
          resolve();
        });
      });
      res.pipe(out);
    });
    req.end();
  });
}

/** The file name of a `Content-Disposition` (its UTF-8 form first), as a safe basename; null when none. */
function suggestedName(header: string | undefined): string | null {
  if (!header) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  let name: string | null = null;
  if (star) {
    try {
      name = decodeURIComponent(star[1]!);
    } catch {
      name = null;
    }
  }
  name ??= /filename="([^"]*)"/i.exec(header)?.[1] ?? null;
  return name === null ? null : safeBasename(name);
}

/**
 * A name from the server (an uploader chose it) made safe to create here: its last path part
 * (`/` and `\` both separators), without control characters and leading dots (no hidden file,
 * no `..`), at most 255 bytes of UTF-8; null when nothing is left.
 *
 * @example safeBasename('../../.bashrc') // → 'bashrc'
 */
export function safeBasename(name: string): string | null {
  const last = name.split(/[/\\]/).pop() ?? '';
  let base = last.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').replace(/^[.\s]+/, '').trimEnd();
  while (Buffer.byteLength(base) > 255) base = [...base].slice(0, -1).join('');
  return base === '' ? null : base;
}

/** `target`, or if it exists `name (1).ext`, `name (2).ext`, ...: the first that does not. */
export function freeName(target: string): string {
  if (!fs.existsSync(target)) return target;
  const ext = path.extname(target);
  const stem = target.slice(0, target.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = `${stem} (${n})${ext}`;
    if (!fs.existsSync(candidate)) return candidate;
  }
}
