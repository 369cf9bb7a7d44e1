import type { SessionContext } from './session-context';
import { fold, type ServerMessage } from './types';

/**
 * The server messages about moderation and notices (PROTOCOL.md "Roles and moderation"): they
 * change little state (a room's privacy, its info panel) and are otherwise told to the user.
 */
export function applyModeration(client: SessionContext, msg: ServerMessage): void {
  const s = client.state;
  const me = (name: string): boolean => fold(name) === fold(s.identity);
  switch (msg.type) {
    case 'private':
      if (msg.roomid === s.room) s.private = msg.on;
      client.toast('info', `#${msg.roomid} is now ${msg.on ? 'private (invite only)' : 'open to everyone'} (by ${msg.by}).`);
      return;
    case 'invite':
      client.toast('info', me(msg.identity) ? `${msg.by} invited you to #${msg.roomid}.` : `${msg.identity} is invited to #${msg.roomid}.`);
      return;
    case 'uninvite':
      client.toast('info', `${msg.identity}'s invitation to #${msg.roomid} was withdrawn.`);
      return;
    case 'kick': {
      const why = msg.reason ? `: ${msg.reason}` : '';
      client.toast('info', me(msg.identity) ? `${msg.by} removed you from #${msg.roomid}${why}` : `${msg.identity} was removed from #${msg.roomid} by ${msg.by}${why}`);
      return;
    }
    case 'ban': {
      const until = msg.until === 0 ? 'until lifted' : `until ${new Date(msg.until).toLocaleString()}`;
      const why = msg.reason ? `: ${msg.reason}` : '';
      client.toast('info', me(msg.identity) ? `${msg.by} banned you from #${msg.roomid} ${until}${why}` : `${msg.identity} is banned from #${msg.roomid} ${until}${why}`);
      return;
    }
    case 'unban':
      client.toast('info', `${msg.identity} may enter #${msg.roomid} again.`);
      return;
    case 'roominfo':
      if (msg.roomid === s.room) {
        s.private = msg.private;
        s.roomInfo = { roomid: msg.roomid, invited: msg.invited, bans: msg.bans };
      }
      return;
    case 'disconnected':
      client.toast('info', `${msg.identity} was disconnected.`);
      return;
    case 'notice':
      client.toast('info', `Notice from ${msg.from}: ${msg.content}`);
      return;
    default:
      return; // pong, reclaimed and types of later versions: nothing to show
  }
}
