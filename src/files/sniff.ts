import { TextDecoder } from 'node:util';

/**
 * The MIME type of a file, from its bytes only (never the uploader's name or claim).
 * Binary formats by their magic numbers (file-type, which reads at most the first
 * `SNIFF_BYTES`); anything it does not recognise is `text/plain` when the whole file is valid
 * UTF-8 without a NUL byte (TextSniffer, fed while the bytes stream in), else
 * `application/octet-stream`. HTML, SVG and XML are text here: never a type a browser renders.
 */

/** Bytes of a file's head kept for the magic-number check (file-type's own sample size). */
export const SNIFF_BYTES = 4100;

export const OCTET_STREAM = 'application/octet-stream';
export const TEXT_PLAIN = 'text/plain';

/** Types served inline (as images); everything else is served as a download. */
export const INLINE_IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Types a thumbnail is made of (the same safe raster formats). */
export const THUMBNAIL_SOURCE_TYPES = INLINE_IMAGE_TYPES;

/** Of file-type's findings, the ones kept: text-based formats it guesses from a prefix are not. */
const TEXT_FORMATS: ReadonlySet<string> = new Set(['application/xml', 'image/svg+xml', 'text/html', 'application/javascript', 'text/calendar', 'text/vcard']);

type FileTypeModule = { fileTypeFromBuffer(buffer: Uint8Array): Promise<{ mime: string } | undefined> };
let fileType: FileTypeModule | null = null;

/**
 * file-type is an ES module: Node 20.19+ loads it with require() (no flag), which keeps this
 * build commonjs. Loaded on first use, so a worker that never sees an upload never pays for it.
 */
function loadFileType(): FileTypeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (fileType ??= require('file-type') as FileTypeModule);
}

/** Follows a file's bytes as they stream in: is it all UTF-8 text without NULs? */
export class TextSniffer {
  private decoder: TextDecoder | null = new TextDecoder('utf-8', { fatal: true });

  /** True while every byte so far can be text. */
  get text(): boolean {
    return this.decoder !== null;
  }

  push(chunk: Uint8Array): void {
    if (!this.decoder) return;
    if (chunk.includes(0)) {
      this.decoder = null;
      return;
    }
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      this.decoder = null;
    }
  }

  /** The end of the file: a sequence cut at the end is not text. */
  end(): boolean {
    if (!this.decoder) return false;
    try {
      this.decoder.decode();
      return true;
    } catch {
      this.decoder = null;
      return false;
    }
  }
}

/** The type of a file whose first bytes are `head` and whose whole text-ness is `text`. */
export async function sniffType(head: Uint8Array, text: boolean): Promise<string> {
  const found = head.length === 0 ? undefined : await loadFileType().fileTypeFromBuffer(head);
  if (found && !TEXT_FORMATS.has(found.mime)) return found.mime;
  return text ? TEXT_PLAIN : OCTET_STREAM;
}
