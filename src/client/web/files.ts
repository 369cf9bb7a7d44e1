/**
 * Files over HTTP (issue-11 files contract): uploads with a progress callback (XMLHttpRequest,
 * whose upload events fetch lacks), and downloads with `Authorization: Bearer <token>` turned
 * into blob URLs, since an <img> or a link cannot send that header.
 */
import type { Attachment } from './protocol/types';

/** The server's answer to an upload. */
export type Uploaded = Attachment;

/** An upload under way: `promise` settles with the stored file; `abort` cancels it. */
export interface Upload {
  promise: Promise<Uploaded>;
  abort(): void;
}

/**
 * Uploads `file` to `POST /files?name=...` (the raw bytes as the body).
 * @param onProgress fraction sent, 0 to 1
 * @throws (through the promise) an Error whose message is the server's, e.g. FILE_TOO_LARGE
 */
export function uploadFile(file: File, token: string, onProgress: (fraction: number) => void): Upload {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<Uploaded>((resolve, reject) => {
    xhr.open('POST', `files?name=${encodeURIComponent(file.name || 'pasted-file')}`);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: { error?: string; message?: string } & Partial<Uploaded> = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        /* not JSON: reported below */
      }
      if (xhr.status === 201 && typeof body.id === 'string') {
        onProgress(1);
        resolve(body as Uploaded);
      } else {
        reject(new Error(body.message ?? body.error ?? `upload failed (HTTP ${xhr.status})`));
      }
    };
    xhr.onerror = () => reject(new Error('upload failed: the connection was lost'));
    xhr.onabort = () => reject(new Error('upload cancelled'));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}

const blobCache = new Map<string, Promise<string>>();

/**
 * A blob URL for `GET /files/<id>` (or its thumbnail), fetched once per page with the bearer
 * token. Rejects on HTTP errors (404 when the file is gone or recalled).
 */
export function fileBlobUrl(id: string, token: string, thumbnail: boolean): Promise<string> {
  const path = `files/${encodeURIComponent(id)}${thumbnail ? '/thumbnail' : ''}`;
  let p = blobCache.get(path);
  if (!p) {
    p = fetch(path, { headers: { Authorization: `Bearer ${token}` } }).then(async (res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return URL.createObjectURL(await res.blob());
    });
    p.catch(() => blobCache.delete(path));
    blobCache.set(path, p);
  }
  return p;
}

/** Downloads an attachment: fetches it with the token, then saves it under its name. */
export async function downloadFile(a: Attachment, token: string): Promise<void> {
  const url = await fileBlobUrl(a.id, token, false);
  const link = document.createElement('a');
  link.href = url;
  link.download = a.name;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/** "1.2 MB", "340 KB", "12 B". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}
