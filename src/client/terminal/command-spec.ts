/**
 * What a typed command is made of (its synopsis, summary and parser), and the builders the
 * command tables share.
 */
import type { Transfer } from './transfer';
import type { ClientMessage } from './wire';

/** What to do with one typed line. */
export type InputAction =
  | { kind: 'send'; message: ClientMessage }
  | { kind: 'local'; lines: string[] }
  /** Nothing sent: the line was not understood (an unknown command, a usage error). */
  | { kind: 'error'; lines: string[] }
  /** `#login` alone: log in with the token saved for this server. */
  | { kind: 'savedlogin' }
  /** `/send`, `/get`: a file transfer over HTTP (src/client/terminal/transfer.ts). */
  | { kind: 'transfer'; transfer: Transfer }
  /**
   * A secret (a password) is still needed: ask for it without echo (in line mode: the next
   * input line), then send `build(secret)`.
   */
  | { kind: 'secret'; prompt: string; build: (secret: string) => ClientMessage }
  /** Something the session answers from what it knows, or by several requests. */
  | { kind: 'view'; view: SessionView }
  | { kind: 'none' };

/**
 * What the session answers itself: `dms` the conversations and their unread counts, `blocks`
 * the block list (asked of the server), `more` the next page of the last history read, `online` who is in every room.
 */
export type SessionView = 'dms' | 'blocks' | 'more' | 'online';

/** What the parser may need to know of the session. */
export interface InputContext {
  /** Our current room ("" if none): the default of `#history`. */
  readonly room: string;
  /** Turns an id as shown (its last characters) into the full id; identity by default. */
  readonly resolveId?: (shown: string) => string;
}

/** Arguments that do not fit, and why: the reason is shown above the usage line. */
export interface Misfit {
  kind: 'misfit';
  why: string;
}

export interface CommandSpec {
  /** The arguments, for the usage line and the help, e.g. `USER TEXT`. */
  readonly synopsis: string;
  readonly summary: string;
  /**
   * The action for the words after the command name (`rest`: the same text, untrimmed inside),
   * or null (or a misfit, which says why) when they do not fit the synopsis: a usage line is
   * shown and nothing is sent.
   */
  readonly parse: (words: string[], rest: string, context: InputContext) => InputAction | Misfit | null;
  /**
   * The index of the first word that is a secret (a password: it and the rest of the line),
   * masked wherever the typed line is shown or kept (screen echo, input history, `--log`).
   */
  readonly secretFrom?: number;
}

export const send = (message: ClientMessage): InputAction => ({ kind: 'send', message });

export const misfit = (why: string): Misfit => ({ kind: 'misfit', why });

/** A command of exactly `names.length` one-word arguments. */
export function fixed(names: string[], summary: string, build: (words: string[]) => ClientMessage): CommandSpec {
  return {
    synopsis: names.join(' '),
    summary,
    parse: (words) => (words.length === names.length ? send(build(words)) : null),
  };
}

/** The text after the first `count` words of `rest`, e.g. the message of `#msg bob hi  there`. */
export function afterWords(rest: string, count: number): string {
  let text = rest;
  for (let i = 0; i < count; i++) text = text.replace(/^\S+\s*/, '');
  return text;
}
