/** Longest file name kept, in characters. */
export const MAX_FILE_NAME = 255;

/**
 * A file name as the uploader gave it, made harmless to show and to save: no path, no control
 * characters, no quotes, at most MAX_FILE_NAME characters; '' when nothing is left.
 */
export function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f"<>]/g, '').trim();
  return [...(clean === '.' || clean === '..' ? '' : clean)].slice(0, MAX_FILE_NAME).join('');
}
