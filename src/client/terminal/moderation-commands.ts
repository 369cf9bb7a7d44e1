/**
 * The commands of the roles and moderation extension: a room's owner or a server administrator
 * acting on a room, and an administrator acting on the server.
 */
import { afterWords, fixed, misfit, send, type CommandSpec, type InputAction, type Misfit } from './command-spec';
import { DURATION_FORMS, looksLikeDuration, parseDuration } from './duration';

/** The longest reason the server takes for a kick, ban or disconnect (in characters). */
export const MAX_REASON_LENGTH = 200;

/** The reason given after the arguments, if any; a misfit when it is too long. */
function reasonOf(text: string): { reason?: string } | Misfit {
  if (text === '') return {};
  // The server counts characters (code points), not UTF-16 units.
  const length = [...text].length;
  if (length > MAX_REASON_LENGTH) return misfit(`the reason is ${length} characters long; at most ${MAX_REASON_LENGTH}`);
  return { reason: text };
}

const isMisfit = (value: object): value is Misfit => 'kind' in value && value.kind === 'misfit';

function kick(words: string[], rest: string): InputAction | Misfit | null {
  if (words.length < 2) return null;
  const reason = reasonOf(afterWords(rest, 2));
  if (isMisfit(reason)) return reason;
  return send({ type: 'kick', roomid: words[0]!, identity: words[1]!, ...reason });
}

/** `ROOM NAME [DURATION] [REASON...]`: a third word that looks like a number is the duration. */
function ban(words: string[], rest: string): InputAction | Misfit | null {
  if (words.length < 2) return null;
  const third = words[2];
  let seconds: { seconds?: number } = {};
  let reasonFrom = 2;
  if (third !== undefined && looksLikeDuration(third)) {
    const parsed = parseDuration(third);
    if (!parsed.ok) return misfit(parsed.why);
    // 0 means "until unban" on the wire; typed, it is more likely a slip.
    if (parsed.seconds === 0) return misfit('a duration must be more than 0; leave it out to ban until unbanned');
    seconds = { seconds: parsed.seconds };
    reasonFrom = 3;
  }
  const reason = reasonOf(afterWords(rest, reasonFrom));
  if (isMisfit(reason)) return reason;
  return send({ type: 'ban', roomid: words[0]!, identity: words[1]!, ...seconds, ...reason });
}

function disconnect(words: string[], rest: string): InputAction | Misfit | null {
  if (words.length < 1) return null;
  const reason = reasonOf(afterWords(rest, 1));
  if (isMisfit(reason)) return reason;
  return send({ type: 'disconnect', identity: words[0]!, ...reason });
}

/** By command name; those only administrators may use say so in their summary. */
export const MODERATION_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  private: {
    synopsis: 'ROOM on|off',
    summary: 'make a room invite-only, or open it again',
    parse: (words) => {
      const value = words.length === 2 ? words[1]!.toLowerCase() : '';
      return value === 'on' || value === 'off' ? send({ type: 'private', roomid: words[0]!, on: value === 'on' }) : null;
    },
  },
  invite: fixed(['ROOM', 'NAME'], 'let NAME join a private room', ([roomid, identity]) => ({ type: 'invite', roomid: roomid!, identity: identity! })),
  uninvite: fixed(['ROOM', 'NAME'], 'withdraw an invitation', ([roomid, identity]) => ({ type: 'uninvite', roomid: roomid!, identity: identity! })),
  kick: { synopsis: 'ROOM NAME [REASON...]', summary: 'move NAME out of the room, to MainHall', parse: kick },
  ban: { synopsis: 'ROOM NAME [DURATION] [REASON...]', summary: 'kick NAME and keep it out (see DURATION below)', parse: ban },
  unban: fixed(['ROOM', 'NAME'], 'lift a ban', ([roomid, identity]) => ({ type: 'unban', roomid: roomid!, identity: identity! })),
  roominfo: fixed(['ROOM'], "show a room's owner, mode, invitations and bans", ([roomid]) => ({ type: 'roominfo', roomid: roomid! })),
  transfer: fixed(['ROOM', 'NAME'], 'make NAME the owner of the room', ([roomid, identity]) => ({ type: 'transfer', roomid: roomid!, identity: identity! })),
  close: fixed(['ROOM'], 'delete the room, moving its members to MainHall', ([roomid]) => ({ type: 'delete', roomid: roomid! })),
  disconnect: { synopsis: 'NAME [REASON...]', summary: "administrators: close a client's connection", parse: disconnect },
  notice: {
    synopsis: 'TEXT...',
    summary: 'administrators: a notice to everyone connected',
    parse: (words, rest) => (words.length >= 1 ? send({ type: 'notice', content: rest }) : null),
  },
};

/** The help's lines after the moderation commands. */
export const MODERATION_HELP_NOTES = [
  `DURATION: ${DURATION_FORMS}; without one, a ban lasts until /unban.`,
  "Moderation commands are for the room's owner and server administrators, who may act from",
  'any room; administrators may also close any room but MainHall.',
];
