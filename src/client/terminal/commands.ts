/**
 * Pure interpretation of what the user typed: a protocol command, a chat message, or something
 * handled locally (help, a usage line).
 */
import type { ClientMessage, ServerMessage } from './wire';

/** What to do with one typed line. */
export type InputAction =
  | { kind: 'send'; message: ClientMessage }
  | { kind: 'local'; lines: string[] }
  | { kind: 'none' };

interface CommandSpec {
  /** Argument names, for the usage line. */
  readonly args: readonly string[];
  readonly summary: string;
  /** Builds the message from exactly `args.length` arguments; null for local commands. */
  readonly build: ((args: string[]) => ClientMessage) | null;
}

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  identitychange: {
    args: ['NAME'],
    summary: 'change your identity',
    build: ([identity]) => ({ type: 'identitychange', identity: identity! }),
  },
  join: { args: ['ROOM'], summary: 'move to a room', build: ([roomid]) => ({ type: 'join', roomid: roomid! }) },
  who: { args: ['ROOM'], summary: 'show who is in a room', build: ([roomid]) => ({ type: 'who', roomid: roomid! }) },
  list: { args: [], summary: 'list the rooms', build: () => ({ type: 'list' }) },
  createroom: {
    args: ['ROOM'],
    summary: 'create a room (you become its owner)',
    build: ([roomid]) => ({ type: 'createroom', roomid: roomid! }),
  },
  delete: {
    args: ['ROOM'],
    summary: 'delete a room you own',
    build: ([roomid]) => ({ type: 'delete', roomid: roomid! }),
  },
  quit: { args: [], summary: 'leave the server', build: () => ({ type: 'quit' }) },
  help: { args: [], summary: 'show this help', build: null },
};

function usage(prefix: string, name: string, spec: CommandSpec): string {
  return ['usage:', prefix + name, ...spec.args].join(' ');
}

/** The lines `#help` prints. */
export function helpLines(): string[] {
  const rows = Object.entries(COMMANDS).map(([name, spec]) => {
    const left = ['#' + name, ...spec.args].join(' ');
    return `  ${left.padEnd(22)}${spec.summary}`;
  });
  return [
    'Commands (start with # or /):',
    ...rows,
    'Anything else you type is sent as a message to your room.',
  ];
}

const COMMAND_LINE = /^([#/])(\S+)(.*)$/s;

/**
 * Interprets one typed line (without its newline).
 *
 * `#name args` and `/name args` are commands when `name` is a known command (case-insensitive);
 * anything else that is not blank is sent as a message, exactly as typed.
 *
 * @example
 * parseInput('#join jokes') // → { kind: 'send', message: { type: 'join', roomid: 'jokes' } }
 * parseInput('/who')        // → { kind: 'local', lines: ['usage: /who ROOM'] }
 * parseInput('hello')       // → { kind: 'send', message: { type: 'message', content: 'hello' } }
 */
export function parseInput(line: string): InputAction {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return { kind: 'none' };
  const match = COMMAND_LINE.exec(text.trim());
  const name = match ? match[2]!.toLowerCase() : '';
  const spec = match && Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!match || !spec) return { kind: 'send', message: { type: 'message', content: text } };

  const rest = match[3]!.trim();
  const args = rest === '' ? [] : rest.split(/\s+/);
  if (args.length !== spec.args.length) {
    return { kind: 'local', lines: [usage(match[1]!, name, spec)] };
  }
  if (!spec.build) return { kind: 'local', lines: helpLines() };
  return { kind: 'send', message: spec.build(args) };
}

/**
 * A test telling whether a server message answers `sent` (an `error` answers anything), or
 * null when no answer is to be waited for (`quit`). Used to run scripted input in lock-step.
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
    case 'quit':
      return null;
  }
}
