/**
 * Pure interpretation of what the user typed: a protocol command, a chat message, or something
 * handled locally (help, a usage line).
 */
import { afterWords, fixed, send, type CommandSpec, type InputAction, type InputContext } from './command-spec';
import { MODERATION_COMMANDS, MODERATION_HELP_NOTES } from './moderation-commands';
import { TRANSFER_COMMANDS } from './transfer';
import type { ClientMessage, ServerMessage } from './wire';

export type { InputAction, InputContext } from './command-spec';

/** How many messages `#history` and `#dmhistory` ask for by default. */
export const DEFAULT_HISTORY_LIMIT = 20;

const COUNT = /^[1-9]\d{0,5}$/;

/** The core and accounts commands, in the order of the help. */
const CHAT_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  identitychange: fixed(['NAME'], 'change your identity', ([identity]) => ({ type: 'identitychange', identity: identity! })),
  join: fixed(['ROOM'], 'move to a room', ([roomid]) => ({ type: 'join', roomid: roomid! })),
  who: fixed(['ROOM'], 'show who is in a room', ([roomid]) => ({ type: 'who', roomid: roomid! })),
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
    synopsis: 'USER PASS',
    summary: 'create an account',
    parse: (words, rest) =>
      words.length >= 2 ? send({ type: 'register', username: words[0]!, password: afterWords(rest, 1) }) : null,
  },
  login: {
    synopsis: '[USER PASS]',
    summary: 'log in (alone: with the login saved for this server)',
    parse: (words, rest) => {
      if (words.length === 0) return { kind: 'savedlogin' };
      return words.length >= 2 ? send({ type: 'login', username: words[0]!, password: afterWords(rest, 1) }) : null;
    },
  },
  logout: fixed([], 'log out (and forget the saved login)', () => ({ type: 'logout' })),
  msg: {
    synopsis: 'USER TEXT',
    summary: 'send a direct message',
    parse: (words, rest) => (words.length >= 2 ? send({ type: 'dm', to: words[0]!, content: afterWords(rest, 1) }) : null),
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

const COMMANDS: Readonly<Record<string, CommandSpec>> = { ...CHAT_COMMANDS, ...MODERATION_COMMANDS, ...TRANSFER_COMMANDS };

function usage(prefix: string, name: string, spec: CommandSpec): string {
  return ['usage:', prefix + name, spec.synopsis].filter((s) => s !== '').join(' ');
}

const HELP_COLUMN = 22;

/** One help row per command; a synopsis too long for its column puts the summary below it. */
function helpRows(commands: Readonly<Record<string, CommandSpec>>): string[] {
  return Object.entries(commands).flatMap(([name, spec]) => {
    const left = ['#' + name, spec.synopsis].filter((s) => s !== '').join(' ');
    if (left.length < HELP_COLUMN) return [`  ${left.padEnd(HELP_COLUMN)}${spec.summary}`];
    return [`  ${left}`, `  ${''.padEnd(HELP_COLUMN)}${spec.summary}`];
  });
}

/** The lines `#help` prints. */
export function helpLines(): string[] {
  return [
    'Commands (start with # or /):',
    ...helpRows(CHAT_COMMANDS),
    'Moderation:',
    ...helpRows(MODERATION_COMMANDS),
    'Files (over the server\'s HTTP port; see --http):',
    ...helpRows(TRANSFER_COMMANDS),
    ...MODERATION_HELP_NOTES,
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
  const action = spec.parse(words, rest, context);
  if (action === null) return { kind: 'local', lines: [usage(prefix, name, spec)] };
  if (action.kind === 'misfit') return { kind: 'local', lines: [action.why, usage(prefix, name, spec)] };
  return action;
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
    // Not waited for: a server without the reconnection extension may say nothing.
    case 'session':
      return null;
  }
}
