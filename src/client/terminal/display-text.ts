/**
 * The pieces every displayed line is made of: server text made safe for a terminal, and times.
 */

// C0 controls except TAB, DEL and C1 controls: a server must not be able to move the cursor,
// recolour the terminal or split one event over several lines.
const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** Makes server-supplied text safe to print on a terminal, escaping control characters. */
export function sanitize(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
  });
}

/** `HH:MM` in local time, or `--:--` when the time is unknown. */
export function clock(ts: number | undefined): string {
  if (ts === undefined) return '--:--';
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** A moment as `2024-05-20 10:33:20 UTC`: the same for everyone who reads it, whatever their zone. */
export function utcTime(ts: number): string {
  const date = new Date(ts);
  // Beyond the dates JavaScript can hold (a corrupt or hostile value): the number itself.
  if (Number.isNaN(date.getTime())) return `${ts} ms after 1970`;
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}
