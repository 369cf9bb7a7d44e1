import type { Attachment } from '../protocol/messages';

/**
 * A message's attachment as its store column holds it: JSON of the server's own record
 * (files are immutable, so the copy never goes stale), or null for none.
 */
export function encodeAttachment(a: Attachment | null | undefined): string | null {
  if (!a) return null;
  return JSON.stringify({ id: a.id, name: a.name, size: a.size, type: a.type, thumbnail: a.thumbnail });
}

/** The column read back; a value that is not a well-formed record reads as none. */
export function decodeAttachment(text: string | null | undefined): Attachment | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<Attachment>;
    if (typeof v.id !== 'string' || typeof v.name !== 'string' || typeof v.size !== 'number' || typeof v.type !== 'string' || typeof v.thumbnail !== 'boolean') return null;
    return { id: v.id, name: v.name, size: v.size, type: v.type, thumbnail: v.thumbnail };
  } catch {
    return null;
  }
}

/** `{ attachment }` when the column holds one, else nothing: a message without a file has no such field. */
export function withAttachment(text: string | null | undefined): { attachment?: Attachment } {
  const attachment = decodeAttachment(text);
  return attachment ? { attachment } : {};
}
