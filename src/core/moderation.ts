import { ErrorCode } from '../protocol/errors';
import type { ModerationClientMessage, ServerMessage } from '../protocol/messages';
import { foldName, isValidIdentity } from '../protocol/rules';
import type { ChatState } from './chat-state';
import type { Effect } from './effects';
import { deliver, isOwner, ownerName, send, type Room, type Session } from './model';

/**
 * Invitations and bans one room may hold. A stored room's rules are rewritten whole on each
 * change, and each entry is shown by `roominfo`: without a bound, an owner banning names at
 * the rate limit would make every change cost the hub more and more.
 */
export const MAX_RULE_ENTRIES = 500;

type RoomRequest = Exclude<ModerationClientMessage, { type: 'disconnect' } | { type: 'notice' }>;

/**
 * The moderation requests of docs/PROTOCOL.md (Roles): a room's owner or a server
 * administrator acts on a room; an administrator also on connections and the whole server.
 * Pure like ChatState: effects out, refusals as `error` effects that change nothing.
 */
export class Moderation {
  constructor(private readonly state: ChatState) {}

  handle(actor: Session, req: ModerationClientMessage): Effect[] {
    if (req.type === 'disconnect') return this.disconnect(actor, req.identity, req.reason ?? '');
    if (req.type === 'notice') return this.notice(actor, req.content);
    const room = this.state.moderatedRoom(req.roomid);
    if (!room) return refuse(actor, ErrorCode.NO_SUCH_ROOM, `no room ${JSON.stringify(req.roomid)} to moderate`);
    if (!actor.admin && !isOwner(actor, room)) {
      return refuse(actor, ErrorCode.NOT_ALLOWED, `only the owner of ${room.id} or an administrator may do that`);
    }
    return this.onRoom(actor, room, req);
  }

  /** A room request, then admission checked again for its members: nobody stays where its rules now bar them. */
  private onRoom(actor: Session, room: Room, req: RoomRequest): Effect[] {
    const fx = this.applyToRoom(actor, room, req);
    this.state.readmitMembers(fx, room);
    return fx;
  }

  private applyToRoom(actor: Session, room: Room, req: RoomRequest): Effect[] {
    switch (req.type) {
      case 'private':
        return this.setPrivate(actor, room, req.on);
      case 'invite':
        return this.invite(actor, room, req.identity);
      case 'uninvite':
        if (!room.modes.uninvite(req.identity)) return refuse(actor, ErrorCode.NO_SUCH_USER, `${req.identity} has no invitation to ${room.id}`);
        return [...persistModes(room), deliver([actor], { type: 'uninvite', roomid: room.id, identity: req.identity, by: actor.identity })];
      case 'kick':
        return this.kick(actor, room, req.identity, req.reason ?? '');
      case 'ban':
        return this.ban(actor, room, req.identity, req.seconds ?? 0, req.reason ?? '');
      case 'unban':
        if (!room.modes.unban(req.identity, this.state.now())) return refuse(actor, ErrorCode.NO_SUCH_USER, `${req.identity} is not banned from ${room.id}`);
        return [...persistModes(room), deliver([actor], { type: 'unban', roomid: room.id, identity: req.identity, by: actor.identity })];
      case 'roominfo': {
        const { private: isPrivate, invited, bans } = room.modes.snapshot(this.state.now());
        return [deliver([actor], { type: 'roominfo', roomid: room.id, owner: ownerName(room), private: isPrivate, invited, bans })];
      }
      case 'transfer':
        return this.transfer(actor, room, req.identity);
    }
  }

  /**
   * Members present when a room turns private stay: they are invited (as the owner would do by
   * hand), so the admission rule holds for them. Refused when that would pass the cap.
   */
  private setPrivate(actor: Session, room: Room, on: boolean): Effect[] {
    const uninvited = on && !room.modes.private ? [...room.members].filter((m) => !m.admin && !isOwner(m, room) && !room.modes.isInvited(m.identity)) : [];
    if (room.modes.invitedCount + uninvited.length > MAX_RULE_ENTRIES) {
      return refuse(actor, ErrorCode.NOT_ALLOWED, `inviting the ${uninvited.length} members of ${room.id} would pass ${MAX_RULE_ENTRIES} invitations`);
    }
    for (const m of uninvited) room.modes.invite(m.identity);
    room.modes.setPrivate(on);
    return [...persistModes(room), deliver([...room.members, actor], { type: 'private', roomid: room.id, on, by: actor.identity })];
  }

  private invite(actor: Session, room: Room, name: string): Effect[] {
    const invitees = this.state.sessionsNamed(name);
    if (invitees.length === 0 && !this.state.isReserved(name)) return refuse(actor, ErrorCode.NO_SUCH_USER, `nobody called ${JSON.stringify(name)} is connected or registered`);
    if (!room.modes.isInvited(name) && room.modes.invitedCount >= MAX_RULE_ENTRIES) {
      return refuse(actor, ErrorCode.NOT_ALLOWED, `${room.id} has ${MAX_RULE_ENTRIES} invitations already; withdraw some first`);
    }
    room.modes.invite(name);
    return [...persistModes(room), deliver([actor, ...invitees], { type: 'invite', roomid: room.id, identity: name, by: actor.identity })];
  }

  private kick(actor: Session, room: Room, name: string, reason: string): Effect[] {
    // Every device of the account that is in the room goes.
    const targets = this.state.sessionsNamed(name).filter((s) => s.roomid === room.id);
    const target = targets[0];
    if (!target) return refuse(actor, ErrorCode.NO_SUCH_USER, `${name} is not in ${room.id}`);
    const untouchable = this.untouchable(room, name, target);
    if (untouchable) return refuse(actor, ErrorCode.NOT_ALLOWED, untouchable);
    const invited = room.modes.uninvite(name);
    const fx: Effect[] = invited ? persistModes(room) : [];
    fx.push(deliver([...room.members, actor], { type: 'kick', roomid: room.id, identity: name, by: actor.identity, reason }));
    for (const t of targets) this.state.moveToMainHall(fx, t);
    return fx;
  }

  private ban(actor: Session, room: Room, name: string, seconds: number, reason: string): Effect[] {
    if (!isValidIdentity(name)) return refuse(actor, ErrorCode.NO_SUCH_USER, `${JSON.stringify(name)} is not a possible identity`);
    const targets = this.state.sessionsNamed(name);
    const untouchable = this.untouchable(room, name, targets[0]);
    if (untouchable) return refuse(actor, ErrorCode.NOT_ALLOWED, untouchable);
    const now = this.state.now();
    if (!room.modes.banOf(name, now) && room.modes.bansInForce(now) >= MAX_RULE_ENTRIES) {
      return refuse(actor, ErrorCode.NOT_ALLOWED, `${room.id} has ${MAX_RULE_ENTRIES} bans already; lift some first`);
    }
    const until = seconds === 0 ? 0 : now + seconds * 1000;
    room.modes.ban({ identity: name, by: actor.identity, reason, until });
    const notice: ServerMessage = { type: 'ban', roomid: room.id, identity: name, by: actor.identity, reason, until };
    const fx = persistModes(room);
    fx.push(deliver([...room.members, actor, ...targets], notice));
    for (const t of targets) if (t.roomid === room.id) this.state.moveToMainHall(fx, t);
    return fx;
  }

  private transfer(actor: Session, room: Room, name: string): Effect[] {
    const target = this.state.sessionNamed(name);
    // An offline account under its stored spelling: the room is stored under that owner.
    const account = target?.username ?? this.state.accountName(name) ?? null;
    if (!target && account === null) return refuse(actor, ErrorCode.NO_SUCH_USER, `nobody called ${JSON.stringify(name)} is connected or registered`);
    if (room.ownerUser !== null && account === null) {
      return refuse(actor, ErrorCode.NOT_ALLOWED, `${room.id} is a stored room: it can only pass to a registered account`);
    }
    const fx: Effect[] = [];
    const to = target ?? account!;
    if (!this.state.giveRoom(fx, room, to)) {
      return refuse(actor, ErrorCode.TOO_MANY_ROOMS, `${name} owns as many rooms as allowed already`);
    }
    const told = [...room.members, actor, ...this.state.sessionsNamed(name)];
    fx.push(deliver(told, this.state.roomContents(room.id)));
    return fx;
  }

  private disconnect(actor: Session, name: string, reason: string): Effect[] {
    if (!actor.admin) return refuse(actor, ErrorCode.NOT_ALLOWED, 'only an administrator may disconnect a client');
    // Every device of the account.
    const targets = this.state.sessionsNamed(name);
    if (targets.length === 0) return refuse(actor, ErrorCode.NO_SUCH_USER, `no connected client is called ${JSON.stringify(name)}`);
    if (targets.some((t) => t.admin)) return refuse(actor, ErrorCode.NOT_ALLOWED, 'an administrator cannot be disconnected');
    const why = `disconnected by an administrator${reason ? `: ${reason}` : ''}`;
    return [
      deliver(targets, { type: 'error', code: ErrorCode.DISCONNECTED, message: why }),
      ...targets.flatMap((t) => this.state.drop(t)),
      deliver([actor], { type: 'disconnected', identity: name, by: actor.identity, reason }),
    ];
  }

  private notice(actor: Session, content: string): Effect[] {
    if (!actor.admin) return refuse(actor, ErrorCode.NOT_ALLOWED, 'only an administrator may send a server notice');
    return [deliver(this.state.allSessions(), { type: 'notice', from: actor.identity, content, ts: this.state.now() })];
  }

  /** Why `name` may not be kicked or banned from `room`, or null. */
  private untouchable(room: Room, name: string, target: Session | undefined): string | null {
    if (foldName(ownerName(room)) === foldName(name)) return `${name} owns ${room.id}; transfer or delete the room instead`;
    if (target?.admin) return `${name} is an administrator`;
    return null;
  }
}

function refuse(actor: Session, code: ErrorCode, message: string): Effect[] {
  const fx: Effect[] = [];
  send(fx, actor, { type: 'error', code, message });
  return fx;
}

/** A stored room's rules go to the store; a guest's room keeps them in memory only. */
function persistModes(room: Room): Effect[] {
  return room.ownerUser !== null ? [{ kind: 'persist-room-modes', roomid: room.id }] : [];
}
