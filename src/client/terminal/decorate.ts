/**
 * How lines look on a terminal: the time (`HH:MM`) before each, a separator when the day
 * changes, and colours (a stable colour per nick, own lines bold, system lines dim, errors red),
 * off with `NO_COLOR` (https://no-color.org) or when the output is not a terminal.
 */

/** What a line is, for its colour. */
export type LineKind = 'chat' | 'own' | 'dm' | 'system' | 'error' | 'notice' | 'plain';

export interface DecorateOptions {
  /** `HH:MM ` before every line, and day separators. */
  readonly timestamps: boolean;
  /** ANSI colours. */
  readonly colour: boolean;
}

const SGR = (code: string, text: string): string => `\x1b[${code}m${text}\x1b[0m`;

/** Nick colours: the six basic ones but red (errors) and their bright forms. */
const NICK_COLOURS = ['32', '33', '34', '35', '36', '92', '93', '94', '95', '96'];

/** The colour of a nick: the same for a name in every session (FNV-1a of its lower-case form). */
export function nickColour(nick: string): string {
  let hash = 0x811c9dc5;
  for (const ch of nick.toLowerCase()) {
    hash ^= ch.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return NICK_COLOURS[hash % NICK_COLOURS.length]!;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** `YYYY-MM-DD` in local time. */
export function localDate(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/** Whether colours are wanted: a terminal, and no `NO_COLOR` (any non-empty value). */
export function colourWanted(env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  return isTty && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export class Decorator {
  /** The day of the last line shown (`YYYY-MM-DD`), for the separators. */
  private day: string | null = null;

  constructor(
    private readonly options: DecorateOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The lines to print for `text`: a day separator first when the day changed, then the line
   * with its time and colours. `nick`: the name `text` starts with (a chat line), coloured.
   */
  decorate(text: string, kind: LineKind, nick?: string): string[] {
    const out: string[] = [];
    const ts = this.now();
    if (this.options.timestamps) {
      const day = localDate(ts);
      if (day !== this.day) {
        // Not before the first line of the session: its date is the one of "today".
        if (this.day !== null) out.push(this.paint(`--- Day changed to ${day} ---`, 'system'));
        this.day = day;
      }
    }
    let body = this.paint(text, kind, nick);
    if (this.options.timestamps) {
      const d = new Date(ts);
      const clock = `${two(d.getHours())}:${two(d.getMinutes())}`;
      body = `${this.options.colour ? SGR('2', clock) : clock} ${body}`;
    }
    out.push(body);
    return out;
  }

  private paint(text: string, kind: LineKind, nick?: string): string {
    if (!this.options.colour) return text;
    switch (kind) {
      case 'error':
        return SGR('31', text);
      case 'system':
        return SGR('2', text);
      case 'notice':
        return SGR('1;33', text);
      case 'chat':
      case 'own':
      case 'dm': {
        let line = text;
        if (nick !== undefined && nick !== '' && text.startsWith(nick)) {
          line = SGR(nickColour(nick), nick) + text.slice(nick.length);
        }
        return kind === 'own' ? SGR('1', line) : line;
      }
      case 'plain':
        return text;
    }
  }
}
