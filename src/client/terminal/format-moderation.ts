/**
 * Pure rendering of the roles and moderation messages: changes to a room's rules, its
 * description for its owner, server notices.
 */
import { clock, sanitize, utcTime } from './display-text';
import type { BanEntry, ModerationMessage } from './wire';

/** How a ban's end is shown: a UTC time (the same for everyone), or "until unbanned". */
export function banEnd(until: number): string {
  return until === 0 ? 'until unbanned' : `until ${utcTime(until)}`;
}

/** `: reason`, or nothing when none was given. */
const because = (reason: string): string => (reason === '' ? '' : `: ${sanitize(reason)}`);

function banLine(ban: BanEntry): string {
  return `  banned: ${sanitize(ban.identity)} by ${sanitize(ban.by)} ${banEnd(ban.until)}${because(ban.reason)}`;
}

/**
 * The lines to show for one moderation message.
 *
 * @param me our identity: what is done to us is told as done to "you"
 */
export function formatModeration(message: ModerationMessage, me: string): string[] {
  const target = (identity: string): string => (identity === me ? 'you' : sanitize(identity));
  switch (message.type) {
    case 'private': {
      const room = sanitize(message.roomid);
      const change = message.on ? `made ${room} private (invitation only)` : `opened ${room} to everyone`;
      return [`${sanitize(message.by)} ${change}`];
    }
    case 'invite':
      return [`${sanitize(message.by)} invited ${target(message.identity)} to ${sanitize(message.roomid)}`];
    case 'uninvite':
      return [`${sanitize(message.by)} withdrew the invitation of ${target(message.identity)} to ${sanitize(message.roomid)}`];
    case 'kick':
      return [`${sanitize(message.by)} kicked ${target(message.identity)} out of ${sanitize(message.roomid)}${because(message.reason)}`];
    case 'ban':
      return [
        `${sanitize(message.by)} banned ${target(message.identity)} from ${sanitize(message.roomid)} ` +
          `${banEnd(message.until)}${because(message.reason)}`,
      ];
    case 'unban':
      return [`${sanitize(message.by)} lifted the ban of ${target(message.identity)} from ${sanitize(message.roomid)}`];
    case 'roominfo': {
      const owner = message.owner === '' ? 'no owner' : `owner ${sanitize(message.owner)}`;
      const invited = message.invited.length === 0 ? 'nobody' : message.invited.map(sanitize).join(', ');
      return [
        `Room ${sanitize(message.roomid)}: ${owner}, ${message.private ? 'private (invitation only)' : 'open'}`,
        `  invited: ${invited}`,
        ...(message.bans.length === 0 ? ['  banned: nobody'] : message.bans.map(banLine)),
      ];
    }
    case 'disconnected':
      return [`${sanitize(message.identity)} was disconnected by ${sanitize(message.by)}${because(message.reason)}`];
    case 'notice':
      // Marked so that it stands out from room chatter: it comes from the server's staff.
      return [`*** Notice from ${sanitize(message.from)} at ${clock(message.ts)}: ${sanitize(message.content)}`];
  }
}
