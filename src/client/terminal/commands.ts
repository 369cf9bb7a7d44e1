/**
 * Pure interpretation of what the user typed: a protocol command, a chat message, or something
 * handled locally (help, a usage line).
 */
import type { ClientMessage, ServerMessage } from './wire';

/** What to do with one typed line. */
export type InputAction =
  | { kind: 'send'; message: ClientMessage }
  | { kind: 'local'; lines: string[] }
  /** `#login` alone: log in with the token saved for this server. */
  | { kind: 'savedlogin' }
  | { kind: 'none' };

/** What the parser may need to know of the session. */
export interface InputContext {
  /** Our current room ("" if none): the default of `#history`. */
  readonly room: string;
  /** Turns an id as shown (its last characters) into the full id; identity by default. */
  readonly resolveId?: (shown: string) => string;
}

/** How many messages `#history` and `#dmhistory` ask for by default. */
export const DEFAULT_HISTORY_LIMIT = 20;

interface CommandSpec {
  /** The arguments, for the usage line and the help, e.g. `USER TEXT`. */
  readonly synopsis: string;
  readonly summary: string;
  /**
   * The action for the words after the command name (`rest`: the same text, untrimmed inside),
   * or null when they do not fit the synopsis (a usage line is shown).
   */
  readonly parse: (words: string[], rest: string, context: InputContext) => InputAction | null;
}

const send = (message: ClientMessage): InputAction => ({ kind: 'send', message });

/** A command of exactly `names.length` one-word arguments. */
function fixed(names: string[], summary: string, build: (words: string[]) => ClientMessage): CommandSpec {
  return {
    synopsis: names.join(' '),
    summary,
    parse: (words) => (words.length === names.length ? send(build(words)) : null),
  };
}

/** The text after the first word of `rest`, e.g. the message of `#msg bob hi  there`. */
function afterFirstWord(rest: string): string {
  return rest.replace(/^\S+\s*/, '');
}

const COUNT = /^[1-9]\d{0,5}$/;

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  identitychange: fixed(['NAME'], 'change your identity', ([identity]) => ({ type: 'identitychange', identity: identity! })),
  join: fixed(['ROOM'], 'move to a room', ([roomid]) => ({ type: 'join', roomid: roomid! })),
  who: fixed(['ROOM'], 'show who is in a room', ([roomid]) => ({ type: 'who', roomid: roomid! })),
  list: fixed([], 'list the rooms', () => ({ type: 'list' })),
  createroom: fixed(['ROOM'], 'create a room (you become its owner)', ([roomid]) => ({ type: 'createroom', roomid: roomid! })),
  delete: fixed(['ROOM'], 'delete a room you own', ([roomid]) => ({ type: 'delete', roomid: roomid! })),
  register: {
    synopsis: 'USER PASS',
    summary: 'create an account',
    parse: (words, rest) =>
      words.length >= 2 ? send({ type: 'register', username: words[0]!, password: afterFirstWord(rest) }) : null,
  },
  login: {
    synopsis: '[USER PASS]',
    summary: 'log in (alone: with the login saved for this server)',
    parse: (words, rest) => {
      if (words.length === 0) return { kind: 'savedlogin' };
      return words.length >= 2 ? send({ type: 'login', username: words[0]!, password: afterFirstWord(rest) }) : null;
    },
  },
  logout: fixed([], 'log out (and forget the saved login)', () => ({ type: 'logout' })),
  msg: {
    synopsis: 'USER TEXT',
    summary: 'send a direct message',
    parse: (words, rest) => (words.length >= 2 ? send({ type: 'dm', to: words[0]!, content: afterFirstWord(rest) }) : null),
  },
  history: {
    synopsis: '[ROOM] [N]',
    summary: `show the last N messages of a room (default: yours, ${DEFAULT_HISTORY_LIMIT})`,
    parse: (words, _rest, context) => {
      const [first, second] = words;
      let roomid = context.room;
      let limit = DEFAULT_HISTORY_LIMIT;
      if (words.length > 2) return null;
      if (second !== undefined) {
        if (!COUNT.test(second)) return null;
        roomid = first!;
        limit = Number(second);
      } else if (first !== undefined) {
        // Room names start with a letter, so a number alone is a count.
        if (COUNT.test(first)) limit = Number(first);
        else roomid = first;
      }
      if (roomid === '') return { kind: 'local', lines: ['You are in no room: name one'] };
      return send({ type: 'history', roomid, limit });
    },
  },
  dmhistory: {
    synopsis: 'USER [N]',
    summary: `show the last N direct messages with USER (default ${DEFAULT_HISTORY_LIMIT})`,
    parse: (words) => {
      if (words.length < 1 || words.length > 2 || (words.length === 2 && !COUNT.test(words[1]!))) return null;
      const limit = words.length === 2 ? Number(words[1]) : DEFAULT_HISTORY_LIMIT;
      return send({ type: 'dmhistory', with: words[0]!, limit });
    },
  },
  recall: {
    synopsis: 'ID',
    summary: 'recall your message, or one in a room you own (see below)',
    parse: (words, _rest, context) => {
      if (words.length !== 1) return null;
      const shown = words[0]!.replace(/^\[(.*)\]$/, '$1');
      return send({ type: 'recall', id: context.resolveId ? context.resolveId(shown) : shown });
    },
  },
  block: fixed(['USER'], 'stop receiving direct messages from USER', ([user]) => ({ type: 'block', user: user! })),
  unblock: fixed(['USER'], 'receive direct messages from USER again', ([user]) => ({ type: 'unblock', user: user! })),
  dnd: {
    synopsis: 'on|off',
    summary: 'do not disturb: direct messages wait in your inbox',
    parse: (words) => {
      const value = words.length === 1 ? words[0]!.toLowerCase() : '';
      return value === 'on' || value === 'off' ? send({ type: 'dnd', on: value === 'on' }) : null;
    },
  },
  status: {
    synopsis: '[TEXT]',
    summary: 'set your status line (no TEXT clears it)',
    parse: (_words, rest) => send({ type: 'status', text: rest }),
  },
  presence: {
    synopsis: 'USER...',
    summary: 'show whether users are online, their status',
    parse: (words) => (words.length >= 1 ? send({ type: 'presence', users: words }) : null),
  },
  quit: fixed([], 'leave the server', () => ({ type: 'quit' })),
  help: { synopsis: '', summary: 'show this help', parse: (words) => (words.length === 0 ? { kind: 'local', lines: helpLines() } : null) },
};

function usage(prefix: string, name: string, spec: CommandSpec): string {
  return ['usage:', prefix + name, spec.synopsis].filter((s) => s !== '').join(' ');
}

/** The lines `#help` prints. */
export function helpLines(): string[] {
  const rows = Object.entries(COMMANDS).map(([name, spec]) => {
    const left = ['#' + name, spec.synopsis].filter((s) => s !== '').join(' ');
    return `  ${left.padEnd(22)}${spec.summary}`;
  });
  return [
    'Commands (start with # or /):',
    ...rows,
    'Anything else you type is sent as a message to your room.',
    'Your own messages, and every history line, end with [ID]: the last 8 characters of the',
    "message's id, which #recall takes (so does the full id).",
  ];
}

const COMMAND_LINE = /^([#/])(\S+)(.*)$/s;

function lookup(line: string): { prefix: string; name: string; spec: CommandSpec; rest: string } | null {
  const match = COMMAND_LINE.exec(line.trim());
  if (!match) return null;
  const name = match[2]!.toLowerCase();
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, name)) return null;
  return { prefix: match[1]!, name, spec: COMMANDS[name]!, rest: match[3]!.trim() };
}

/**
 * Interprets one typed line (without its newline).
 *
 * `#name args` and `/name args` are commands when `name` is a known command (case-insensitive);
 * anything else that is not blank is sent as a message, exactly as typed.
 *
 * @example
 * parseInput('#join jokes') // → { kind: 'send', message: { type: 'join', roomid: 'jokes' } }
 * parseInput('/who')        // → { kind: 'local', lines: ['usage: /who ROOM'] }
 * parseInput('/msg bob hi') // → { kind: 'send', message: { type: 'dm', to: 'bob', content: 'hi' } }
 * parseInput('hello')       // → { kind: 'send', message: { type: 'message', content: 'hello' } }
 */
export function parseInput(line: string, context: InputContext = { room: '' }): InputAction {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return { kind: 'none' };
  const command = lookup(text);
  if (!command) return send({ type: 'message', content: text });
  const { prefix, name, spec, rest } = command;
  const words = rest === '' ? [] : rest.split(/\s+/);
  return spec.parse(words, rest, context) ?? { kind: 'local', lines: [usage(prefix, name, spec)] };
}

/**
 * The typed line as the `--log` transcript keeps it: passwords given to `#login` and
 * `#register` are masked.
 */
export function loggableInput(line: string): string {
  const command = lookup(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!command || (command.name !== 'login' && command.name !== 'register')) return line;
  const words = command.rest === '' ? [] : command.rest.split(/\s+/);
  if (words.length < 2) return line;
  return `${command.prefix}${command.name} ${words[0]} ********`;
}

/**
 * A test telling whether a server message answers `sent` (an `error` answers anything), or
 * null when no answer is to be waited for (`quit`, `ack`). Used to run scripted input in
 * lock-step.
 *
 * @param me our identity when `sent` was sent
 */
export function replyMatcher(sent: ClientMessage, me: string): ((reply: ServerMessage) => boolean) | null {
  const or = (test: (reply: ServerMessage) => boolean) => (reply: ServerMessage) =>
    reply.type === 'error' || test(reply);
  switch (sent.type) {
    case 'identitychange':
      return or((r) => r.type === 'newidentity' && r.former === me);
    case 'join':
      return or((r) => r.type === 'roomchange' && r.identity === me);
    case 'who':
      return or((r) => r.type === 'roomcontents');
    case 'list':
    case 'createroom':
    case 'delete':
      return or((r) => r.type === 'roomlist');
    case 'message':
      return or((r) => r.type === 'message' && r.identity === me);
    case 'register':
      return or((r) => r.type === 'registered' && r.username === sent.username);
    case 'login':
      return or((r) => r.type === 'loggedin');
    case 'logout':
      return or((r) => r.type === 'loggedout');
    case 'dm':
      return or((r) => r.type === 'dm' && r.from === me && r.to === sent.to && r.inbox === undefined);
    case 'history':
      return or((r) => r.type === 'history' && r.roomid === sent.roomid);
    case 'dmhistory':
      return or((r) => r.type === 'dmhistory' && r.with === sent.with);
    case 'resume':
      return or((r) => r.type === 'resumed' && r.roomid === sent.roomid);
    case 'recall':
      return or((r) => r.type === 'recalled' && r.id === sent.id);
    case 'block':
    case 'unblock':
      return or((r) => r.type === 'blocklist');
    case 'dnd':
    case 'status':
      return or((r) => r.type === 'profile');
    case 'presence':
      return or((r) => r.type === 'presence');
    case 'ack':
    case 'quit':
      return null;
  }
}
