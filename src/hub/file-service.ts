import { hashToken } from '../auth/tokens';
import type { SessionKey } from '../core/effects';
import { FILE_ID, filesDir, removeBlob, removeStaleUploads } from '../files/blob-store';
import { cleanFileName } from '../files/file-name';
import type { FileAnswer, FileAskFrame, FileRefusal } from '../ipc/file-messages';
import { encodeFileAnswer } from '../ipc/hub-link-messages';
import { ErrorCode } from '../protocol/errors';
import type { Attachment } from '../protocol/messages';
import { isStoreError } from '../store/errors';
import type { Administrators } from './administrators';
import { RequestRefused, requireLogin, type HubContext } from './services';
import type { WorkerLink } from './worker-link';

/** The file settings the hub applies (a subset of Config). */
export interface FileSettings {
  /** The data dir whose `files/` holds the blobs; null: no blobs to delete (a hub in a unit test). */
  dataDir: string | null;
  /** `fileQuotaBytes`. */
  fileQuotaBytes: number;
  /** `fileUploadGraceMs`. */
  fileUploadGraceMs: number;
  /** `fileSweepIntervalMs`. */
  fileSweepIntervalMs: number;
}

/** FILE_ASKs of all workers being answered at once, at most; more are answered BUSY at once. */
export const MAX_FILE_ASKS_IN_FLIGHT = 256;
/** Rooms looked at, at most, to decide whether an account may see a file a room message carries. */
const MAX_ROOMS_CHECKED = 50;
/**
 * A temporary upload file older than this is left over by a worker that died mid-upload
 * (an upload in progress writes to it at least every SOCKET_IDLE of the gateway): removed.
 */
const STALE_UPLOAD_MS = 3600_000;
/** Files deleted by one sweep step at most (the next step goes on). */
const SWEEP_BATCH = 200;

/**
 * The hub's side of files (docs/PROTOCOL.md, "Files and attachments"): the workers' questions
 * (whose token, record an upload against the quota, may this account see this file), the
 * attachment a room message or DM names (the sender's own upload, as the server recorded it),
 * and the sweep that deletes files nothing keeps.
 *
 * The rule of deletion: a file is kept while a live (not recalled) message carries it or an
 * upload record keeps it; an upload record lapses `fileUploadGraceMs` after it was made unless a
 * live message of its uploader carries the file. Recording an upload and a sweep step run one
 * after another (one chain), and a sweep step deletes the rows and then the bytes with nothing
 * in between, so an upload recorded for bytes the sweep just deleted puts them back (the worker
 * moves its copy in place only once the record is made).
 */
export class FileService {
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private readonly dir: string | null;

  constructor(
    private readonly ctx: HubContext,
    private readonly admins: Administrators,
    private readonly settings: FileSettings,
  ) {
    this.dir = settings.dataDir === null ? null : filesDir(settings.dataDir);
  }

  /** Starts the periodic sweep (unref'd: it never keeps the hub alive). */
  start(): void {
    setInterval(() => void this.sweep(), this.settings.fileSweepIntervalMs).unref();
  }

  /** Answers a worker's FILE_ASK on its link, behind everything the hub sent it before. */
  answer(link: WorkerLink, frame: FileAskFrame): void {
    const send = (answer: FileAnswer): void => this.ctx.router.outbox.send(link, encodeFileAnswer({ cid: frame.cid, answer }));
    if (this.inFlight >= MAX_FILE_ASKS_IN_FLIGHT) return send(refusal('BUSY', 'too many file requests at once; try again'));
    this.inFlight++;
    this.ask(frame)
      .catch((err: Error): FileAnswer => {
        if (isStoreError(err)) return refusal('STORE_FAILED', 'the store could not answer');
        this.ctx.log.error({ err, op: frame.ask.op }, 'a file request failed');
        return refusal('INTERNAL_ERROR', 'the server could not handle this request');
      })
      .then((answer) => {
        this.inFlight--;
        send(answer);
      });
  }

  /**
   * The attachment a session names on a message or DM: a file its account uploaded, as the
   * server recorded it (NO_SUCH_FILE otherwise: another account's file is not the sender's to
   * pass on, and a guest has no uploads).
   */
  async attachment(key: SessionKey, id: string): Promise<Attachment> {
    const username = requireLogin(this.ctx, key);
    const { store } = this.ctx;
    const upload = await store.getUpload(username, id);
    const file = upload && (await store.getFile(id));
    if (!upload || !file) throw new RequestRefused(ErrorCode.NO_SUCH_FILE, `no file ${id} uploaded by you (upload it with POST /files first)`);
    return { id, name: upload.name, size: file.size, type: file.type, thumbnail: file.thumbnail };
  }

  /** One sweep step: lapsed uploads forgotten, unkept files' rows and bytes deleted. */
  sweep(): Promise<number> {
    return this.serially(async () => {
      const ids = await this.ctx.store.sweepFiles(Date.now() - this.settings.fileUploadGraceMs, SWEEP_BATCH);
      for (const id of ids) {
        try {
          if (this.dir !== null) removeBlob(this.dir, id);
        } catch (err) {
          this.ctx.log.error({ err, id }, 'deleting a file\'s bytes failed; its record is gone');
        }
      }
      if (ids.length > 0) this.ctx.log.info({ files: ids.length }, 'deleted files nothing keeps');
      if (this.dir !== null) removeStaleUploads(this.dir, Date.now() - STALE_UPLOAD_MS);
      return ids.length;
    }).catch((err: Error) => {
      this.ctx.log.error({ err }, 'the file sweep failed; retried at the next interval');
      return 0;
    });
  }

  private async ask({ ask }: FileAskFrame): Promise<FileAnswer> {
    const { store } = this.ctx;
    const username = await store.findToken(hashToken(ask.token));
    if (!username) return refusal('NOT_LOGGED_IN', 'a valid login token is required (Authorization: Bearer <token>)');
    const quotaBytes = this.settings.fileQuotaBytes;
    switch (ask.op) {
      case 'auth':
        return { ok: true, username };
      case 'record': {
        const { file } = ask;
        if (!FILE_ID.test(file.id) || file.size < 0) return refusal('INTERNAL_ERROR', 'malformed file record');
        const name = cleanFileName(ask.name) || file.id;
        const recorded = await this.serially(() => store.recordUpload(file, { username, fileId: file.id, name, uploadedAt: Date.now() }, quotaBytes));
        if (!recorded) {
          const used = await store.uploadedBytes(username);
          return refusal('QUOTA_EXCEEDED', `your uploads take ${used} of your ${quotaBytes} bytes; this file of ${file.size} bytes does not fit`);
        }
        return { ok: true, file };
      }
      case 'access': {
        const file = FILE_ID.test(ask.id) ? await store.getFile(ask.id) : null;
        if (file && (await this.maySee(username, ask.id))) return { ok: true, file };
        return refusal('NO_SUCH_FILE', 'no such file');
      }
    }
  }

  /**
   * The account uploaded the file, sent or received a DM carrying it, or may read the history
   * of a room whose stored message carries it (the rule `history` applies: ChatState).
   */
  private async maySee(username: string, id: string): Promise<boolean> {
    const audience = await this.ctx.store.fileAudience(username, id, MAX_ROOMS_CHECKED);
    if (audience.direct) return true;
    if (audience.rooms.length === 0) return false;
    const admin = await this.admins.isAdmin(username);
    return audience.rooms.some((roomid) => this.ctx.router.state.accountMayRead(username, admin, roomid));
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function refusal(code: FileRefusal, message: string): FileAnswer {
  return { ok: false, code, message };
}
