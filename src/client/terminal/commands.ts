/**
 * Pure interpretation of what the user typed: a protocol command, a chat message, or something
 * handled locally (help, a usage line).
 */
import { afterWords, fixed, send, type CommandSpec, type InputAction, type InputContext } from './command-spec';
import { closestName } from './command-hint';
import { MODERATION_COMMANDS, MODERATION_HELP_NOTES } from './moderation-commands';
import { TRANSFER_COMMANDS } from './transfer';
import type { ClientMessage, ServerMessage } from './wire';

export type { InputAction, InputContext } from './command-spec';

/** How many messages `#history` and `#dmhistory` ask for by default. */
export const DEFAULT_HISTORY_LIMIT = 20;

const COUNT = /^[1-9]\d{0,5}$/;

const error = (...lines: string[]): InputAction => ({ kind: 'error', lines });

/** `/register USER PASS` or `/login USER PASS`; the password asked for (hidden) when left out. */
function withPassword(type: 'register' | 'login', words: string[], rest: string): InputAction | null {
  const username = words[0]!;
  const build = (password: string): ClientMessage =>
    type === 'register' ? { type, username, password } : { type, username, password };
  if (words.length >= 2) return send(build(afterWords(rest, 1)));
  return { kind: 'secret', prompt: `Password for ${username}: `, build };
}

/** The core and accounts commands, in the order of the help. */
const CHAT_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  say: {
    synopsis: 'TEXT',
    summary: 'send TEXT to your room as typed, even if it starts with / or # (so does //TEXT)',
    parse: (_words, rest) => (rest === '' ? null : send({ type: 'message', content: rest })),
  },
  identitychange: fixed(['NAME'], 'change your identity', ([identity]) => ({ type: 'identitychange', identity: identity! })),
  join: fixed(['ROOM'], 'move to a room', ([roomid]) => ({ type: 'join', roomid: roomid! })),
  who: {
    synopsis: '[ROOM]',
    summary: 'show who is in a room (default: yours; * marks its owner)',
    parse: (words, _rest, context) => {
      if (words.length > 1) return null;
      const roomid = words[0] ?? context.room;
      return roomid === '' ? error('You are in no room: name one') : send({ type: 'who', roomid });
    },
  },
  online: { synopsis: '', summary: 'show who is online: your contacts, the members of every room', parse: (words) => (words.length === 0 ? { kind: 'view', view: 'online' } : null) },
  list: fixed([], 'list the rooms', () => ({ type: 'list' })),
  createroom: {
    synopsis: 'ROOM [--private]',
    summary: 'create a room (you become its owner); --private: invite-only',
    parse: (words) => {
      const names = words.filter((word) => word.toLowerCase() !== '--private');
      if (names.length !== 1 || words.length > 2) return null;
      // Sent only when asked; a server without roles ignores it and makes an open room.
      return send({ type: 'createroom', roomid: names[0]!, ...(words.length === 2 ? { private: true as const } : {}) });
    },
  },
  delete: fixed(['ROOM'], 'delete a room you own', ([roomid]) => ({ type: 'delete', roomid: roomid! })),
  register: {
    synopsis: 'USER [PASS]',
    summary: 'create an account (PASS left out: asked for, hidden)',
    secretFrom: 1,
    parse: (words, rest) => (words.length >= 1 ? withPassword('register', words, rest) : null),
  },
  login: {
    synopsis: '[USER [PASS]]',
    summary: 'log in (PASS left out: asked for, hidden; alone: the saved login)',
    secretFrom: 1,
    parse: (words, rest) => (words.length === 0 ? { kind: 'savedlogin' } : withPassword('login', words, rest)),
  },
  logout: fixed([], 'log out (and forget the saved login)', () => ({ type: 'logout' })),
  msg: {
    synopsis: 'USER TEXT',
    summary: 'send a direct message',
    parse: (words, rest) => (words.length >= 2 ? send({ type: 'dm', to: words[0]!, content: afterWords(rest, 1) }) : null),
  },
  dms: { synopsis: '', summary: 'list your direct message conversations, with unread counts', parse: (words) => (words.length === 0 ? { kind: 'view', view: 'dms' } : null) },
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
      if (roomid === '') return error('You are in no room: name one');
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
  more: { synopsis: '', summary: 'page further back in the last history shown (PageUp too)', parse: (words) => (words.length === 0 ? { kind: 'view', view: 'more' } : null) },
  recall: {
    synopsis: 'ID',
    summary: 'recall your message, or one in a room you own (see below)',
    parse: (words, _rest, context) => {
      if (words.length !== 1) return null;
      const shown = words[0]!.replace(/^\[(.*)\]$/, '$1');
      return send({ type: 'recall', id: context.resolveId ? context.resolveId(shown) : shown });
    },
  },
  block: fixed(['USER'], 'stop receiving messages from USER', ([user]) => ({ type: 'block', user: user! })),
  unblock: fixed(['USER'], 'receive messages from USER again', ([user]) => ({ type: 'unblock', user: user! })),
  blocks: { synopsis: '', summary: 'list the users you block', parse: (words) => (words.length === 0 ? { kind: 'view', view: 'blocks' } : null) },
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
  help: {
    synopsis: '[COMMAND]',
    summary: 'show this help, or one command\'s',
    parse: (words) => {
      if (words.length === 0) return { kind: 'local', lines: helpLines() };
      if (words.length !== 1) return null;
      const lines = commandHelp(words[0]!.replace(/^[#/]/, ''));
      return lines ? { kind: 'local', lines } : error(unknownCommand('/', words[0]!.replace(/^[#/]/, '')));
    },
  },
};

/** A part of the command table, with its heading in the help and the notes after it. */
export interface CommandSection {
  readonly title: string;
  readonly commands: Readonly<Record<string, CommandSpec>>;
  readonly notes?: readonly string[];
}

/**
 * The one command table: what the parser knows, what `/help` and the README list. A feature
 * adds its commands as a section of its own (appended here).
 */
export const COMMAND_SECTIONS: readonly CommandSection[] = [
  { title: 'Chat and accounts', commands: CHAT_COMMANDS },
  { title: 'Moderation', commands: MODERATION_COMMANDS, notes: MODERATION_HELP_NOTES },
  { title: "Files (over the server's HTTP port; see --http)", commands: TRANSFER_COMMANDS },
];

const COMMANDS: Readonly<Record<string, CommandSpec>> = Object.assign({}, ...COMMAND_SECTIONS.map((section) => section.commands));

/** Every command name, in the order of the help. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

function usage(prefix: string, name: string, spec: CommandSpec): string {
  return ['usage:', prefix + name, spec.synopsis].filter((s) => s !== '').join(' ');
}

const HELP_COLUMN = 22;

/** One help row per command; a synopsis too long for its column puts the summary below it. */
function helpRows(commands: Readonly<Record<string, CommandSpec>>): string[] {
  return Object.entries(commands).flatMap(([name, spec]) => {
    const left = ['/' + name, spec.synopsis].filter((s) => s !== '').join(' ');
    if (left.length < HELP_COLUMN) return [`  ${left.padEnd(HELP_COLUMN)}${spec.summary}`];
    return [`  ${left}`, `  ${''.padEnd(HELP_COLUMN)}${spec.summary}`];
  });
}

/** The lines `/help` prints: every command of the table with its arguments, section by section. */
export function helpLines(): string[] {
  return [
    'Commands (start with / or #; /help COMMAND for one):',
    ...COMMAND_SECTIONS.flatMap((section) => [`${section.title}:`, ...helpRows(section.commands), ...(section.notes ?? [])]),
    'Anything else you type is sent as a message to your room; //text sends "/text".',
    'An unknown /command is never sent: it is an error, with the closest command as a hint.',
    'In a room\'s member list, * after a name marks the room\'s owner.',
    'Your own messages, and every history line, end with [ID]: the last 8 characters of the',
    "message's id, which /recall takes (so does the full id).",
  ];
}

/** The help of one command (`/help join`), or null if there is no such command. */
export function commandHelp(name: string): string[] | null {
  const key = name.toLowerCase();
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, key)) return null;
  const spec = COMMANDS[key]!;
  const section = COMMAND_SECTIONS.find((s) => Object.prototype.hasOwnProperty.call(s.commands, key));
  return [usage('/', key, spec), `  ${spec.summary}`, ...(section?.notes ?? [])];
}

/** The sentence for an unknown command, with the closest known one as a hint. */
function unknownCommand(prefix: string, name: string): string {
  const hint = closestName(name, COMMAND_NAMES);
  const guess = hint ? ` Did you mean ${prefix}${hint}?` : '';
  return `Unknown command ${prefix}${name}: nothing was sent.${guess} (/help lists the commands; //text sends a line starting with /)`;
}

const COMMAND_LINE = /^([#/])(\S+)(.*)$/s;

interface Lookup {
  prefix: string;
  name: string;
  /** Null for a name that is no command. */
  spec: CommandSpec | null;
  rest: string;
}

function lookup(line: string): Lookup | null {
  const match = COMMAND_LINE.exec(line.trim());
  if (!match) return null;
  const name = match[2]!.toLowerCase();
  const spec = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name]! : null;
  return { prefix: match[1]!, name, spec, rest: match[3]!.trim() };
}

/**
 * A `#word` that is no command is chat (a hashtag), unless it is one letter away from a
 * command's name (closestName: the rule of the `/` hint), more likely a typo: then it is held
 * back like an unknown `/word`.
 */
function hashTypo(name: string): boolean {
  return closestName(name, COMMAND_NAMES) !== null;
}

/**
 * Interprets one typed line (without its newline).
 *
 * `/name args` and `#name args` are commands when `name` is a known command (case-insensitive).
 * An unknown `/name`, a `#name` close to a command's name (a likely typo), and a lone `/` or `#`
 * are errors, never sent. `//text` and `##text` send `/text` and `#text`; anything else that is
 * not blank is sent as a message, exactly as typed.
 *
 * @example
 * parseInput('#join jokes') // → { kind: 'send', message: { type: 'join', roomid: 'jokes' } }
 * parseInput('/regster x')  // → { kind: 'error', lines: ['Unknown command /regster: ... Did you mean /register? ...'] }
 * parseInput('//shrug')     // → { kind: 'send', message: { type: 'message', content: '/shrug' } }
 * parseInput('hello')       // → { kind: 'send', message: { type: 'message', content: 'hello' } }
 */
export function parseInput(line: string, context: InputContext = { room: '' }): InputAction {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'none' };
  if (trimmed === '/' || trimmed === '#') {
    return error(`A lone ${trimmed} is not a command: nothing was sent. (/help lists the commands; //text sends a line starting with /)`);
  }
  const lead = text.trimStart();
  if (lead.startsWith('//') || lead.startsWith('##')) return send({ type: 'message', content: lead.slice(1) });
  const command = lookup(text);
  if (!command) return send({ type: 'message', content: text });
  const { prefix, name, spec, rest } = command;
  if (spec === null) {
    if (prefix === '#' && !hashTypo(name)) return send({ type: 'message', content: text });
    return error(unknownCommand(prefix, name));
  }
  const words = rest === '' ? [] : rest.split(/\s+/);
  const action = spec.parse(words, rest, context);
  if (action === null) return error(usage(prefix, name, spec));
  if (action.kind === 'misfit') return error(action.why, usage(prefix, name, spec));
  return action;
}

/**
 * The typed line as it may be shown or kept (the screen's echo, the input history, the `--log`
 * transcript): secret arguments (the passwords of `/login` and `/register`, also in a mistyped
 * command close to them) are masked.
 */
export function maskedInput(line: string): string {
  const command = lookup(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!command) return line;
  let spec = command.spec;
  if (spec === null) {
    // Looser than the hint: a password is masked even in a command mistyped twice.
    const near = closestName(command.name, COMMAND_NAMES, 2);
    spec = near === null ? null : COMMANDS[near]!;
  }
  if (spec?.secretFrom === undefined) return line;
  const words = command.rest === '' ? [] : command.rest.split(/\s+/);
  if (words.length <= spec.secretFrom) return line;
  return [`${command.prefix}${command.name}`, ...words.slice(0, spec.secretFrom), '********'].join(' ');
}

/** The typed line as the `--log` transcript keeps it (see `maskedInput`). */
export const loggableInput = maskedInput;

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
    case 'blocklist':
      return or((r) => r.type === 'blocklist');
    case 'dnd':
    case 'status':
      return or((r) => r.type === 'profile');
    case 'presence':
      return or((r) => r.type === 'presence');
    case 'private':
      return or((r) => r.type === 'private' && r.roomid === sent.roomid);
    case 'invite':
    case 'uninvite':
    case 'kick':
    case 'ban':
    case 'unban':
      return or((r) => r.type === sent.type && r.roomid === sent.roomid && r.identity === sent.identity);
    case 'roominfo':
      return or((r) => r.type === 'roominfo' && r.roomid === sent.roomid);
    case 'transfer':
      // The requester is sent the room's contents with its new owner.
      return or((r) => r.type === 'roomcontents' && r.roomid === sent.roomid);
    case 'disconnect':
      return or((r) => r.type === 'disconnected' && r.identity === sent.identity);
    case 'notice':
      return or((r) => r.type === 'notice' && r.from === me);
    case 'reclaim':
      return or((r) => r.type === 'reclaimed');
    case 'hello':
      return or((r) => r.type === 'hello');
    case 'ack':
    case 'quit':
    // Answered by a type shown as it comes (presence-format.ts), never decoded as known.
    case 'contacts':
    // Not waited for: a server without the reconnection extension may say nothing.
    case 'session':
      return null;
  }
}
