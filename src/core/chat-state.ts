import { ErrorCode, errorMessage, type ErrorMessage } from '../protocol/errors';
import type { CoreControlRequest, ModerationClientMessage, RoomListEntry, ServerMessage } from '../protocol/messages';
import { GUEST_PREFIX, MAIN_HALL, foldName, isValidIdentity, isValidRoomId } from '../protocol/rules';
import { CONSOLE_IDENTITY, type ConsoleRequest } from './console';
import type { Effect, SessionKey, SessionView } from './effects';
import { HeldNames } from './held-names';
import { countName, deliver, enter, exit, isOwner, nameCount, newRoom, ownerName, send, type Room, type Session } from './model';
import { Moderation } from './moderation';
import { RoomModes, type RoomModesSnapshot } from './room-modes';
import type { ChatStateImage } from './state-image';

/** A session as a worker re-registers it after a hub restart. */
export interface RestoredSession extends SessionView {
  key: SessionKey;
}

export interface ChatLimits {
  /** Rooms one guest session or one account may own at once (`maxRoomsPerOwner`). */
  maxRoomsPerOwner: number;
  /** How long a dropped session's identity and room stay held for its resume token, in ms (`reconnectGraceMs`); 0 or absent: not held. */
  reconnectGraceMs?: number;
  /** Holds kept at once (`maxHeldNames`); when full the oldest lapses early. */
  maxHeldNames?: number;
  /**
   * Sessions logged in to one account at once (`maxDevices`, docs/PROTOCOL.md "Devices,
   * contacts and presence"); one more replaces the oldest. Absent: 1 (a login replaces).
   */
  maxDevices?: number;
}

/**
 * Rooms, identities and membership of one node: the seed-004 rules as pure state transitions.
 * Every operation returns the effects to carry out; nothing here does I/O.
 *
 * Names are unique case-insensitively (foldName): the maps of identities, usernames and held
 * names are keyed by the folded name, sessions keep the spelling they chose. Admission holds
 * after every change of identity or of a room's rules: a session is never in a room its
 * current identity may not enter (see `readmit`).
 */
export class ChatState {
  private readonly sessions = new Map<SessionKey, Session>();
  /** Folded identity -> the session going by it. */
  private readonly byIdentity = new Map<string, Session>();
  private readonly rooms = new Map<string, Room>();
  /** sortedRooms(), until a room is added or removed. */
  private roomOrder: Room[] | null = null;
  /** Registered usernames, folded -> as stored: no one but their account may take them as an identity. */
  private readonly reserved = new Map<string, string>();
  /** Identities of dropped sessions, held for their resume token. */
  private readonly held: HeldNames;
  /** No guest number below this is free; keeps guest naming O(1) amortised. */
  private lowestFreeGuestHint = 1;
  /** How many rooms each account owns, for `maxRoomsPerOwner`. */
  private readonly roomsOfUser = new Map<string, number>();
  private readonly moderation = new Moderation(this);
  /** The logged-in sessions (devices) of each account, folded username -> oldest login first. */
  private readonly devices = new Map<string, Session[]>();
  /** Accounts marked away (`away`), folded; forgotten when their last device leaves. */
  private readonly awayUsers = new Set<string>();

  constructor(
    private readonly limits: ChatLimits = { maxRoomsPerOwner: Infinity },
    /** The clock bans are measured by (tests pass their own). */
    readonly now: () => number = Date.now,
  ) {
    this.held = new HeldNames(limits.reconnectGraceMs ?? 0, limits.maxHeldNames ?? 0, (name) => this.noteGuestNameFreed(name));
    this.addRoom(MAIN_HALL, null);
  }

  /** Marks usernames as registered accounts (at boot, and on each registration). */
  reserve(usernames: Iterable<string>): void {
    for (const u of usernames) this.reserved.set(foldName(u), u);
  }

  /** True when `name`, in any case, is a registered username. */
  isReserved(name: string): boolean {
    return this.reserved.has(foldName(name));
  }

  /** The registered username `name` names (in any case), as stored; undefined when none. */
  accountName(name: string): string | undefined {
    return this.reserved.get(foldName(name));
  }

  /** True when some connected session other than `key` goes by `identity` (in any case). */
  identityInUse(identity: string, key?: SessionKey): boolean {
    const holder = this.byIdentity.get(foldName(identity));
    return holder !== undefined && holder.key !== key;
  }

  /**
   * True when `name` belongs to someone other than session `key`: a registered username, the
   * identity of another connected session, or an identity held for a dropped session.
   */
  nameTaken(name: string, key?: SessionKey): boolean {
    return this.isReserved(name) || this.identityInUse(name, key) || this.held.isHeld(name, this.now());
  }

  /** Rooms owned by accounts, loaded from the store at boot, with their entry rules. */
  loadPersistentRooms(rooms: Array<{ roomid: string; owner: string; modes?: RoomModesSnapshot }>): void {
    for (const r of rooms) {
      if (r.roomid === MAIN_HALL || !isValidRoomId(r.roomid)) continue;
      const room = this.rooms.get(r.roomid) ?? this.addRoom(r.roomid, null);
      if (room.ownerUser !== null) this.countUserRoom(room.ownerUser, -1);
      room.ownerUser = r.owner;
      this.countUserRoom(r.owner, +1);
      if (r.modes) room.modes = RoomModes.from(r.modes);
    }
  }

  /** A stored room's entry rules as they are now (undefined for a room that is not stored). */
  persistentModesOf(roomid: string): RoomModesSnapshot | undefined {
    const room = this.rooms.get(roomid);
    return room?.ownerUser ? room.modes.snapshot(this.now()) : undefined;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  has(key: SessionKey): boolean {
    return this.sessions.has(key);
  }

  view(key: SessionKey): SessionView | undefined {
    const s = this.sessions.get(key);
    return s && { identity: s.identity, roomid: s.roomid, owned: [...s.owned], username: s.username };
  }

  usernameOf(key: SessionKey): string | null | undefined {
    return this.sessions.get(key)?.username;
  }

  /** A session logged in as `username` (in any case), if any: its oldest device (see sessionsOfUser). */
  sessionOfUser(username: string): SessionKey | undefined {
    return this.devices.get(foldName(username))?.[0]?.key;
  }

  /** Every session logged in as `username` (in any case), oldest login first: the account's devices. */
  sessionsOfUser(username: string): SessionKey[] {
    return (this.devices.get(foldName(username)) ?? []).map((s) => s.key);
  }

  /** True while at least one device is logged in as `username`. */
  isOnline(username: string): boolean {
    return this.devices.has(foldName(username));
  }

  /** True when the account marked itself away (`away`) and is online. */
  isAway(username: string): boolean {
    return this.awayUsers.has(foldName(username));
  }

  /**
   * Marks the session's account away or back (one mark per account, whichever device sets it).
   * A change is a `presence` effect: the account's contacts are told.
   */
  setAway(key: SessionKey, on: boolean): Effect[] {
    const username = this.sessions.get(key)?.username;
    if (!username) return [];
    const folded = foldName(username);
    if (this.awayUsers.has(folded) === on) return [];
    if (on) this.awayUsers.add(folded);
    else this.awayUsers.delete(folded);
    return [{ kind: 'presence', username }];
  }

  /** Keys of the sessions in a room (empty for an unknown room). */
  membersOf(roomid: string): SessionKey[] {
    return [...(this.rooms.get(roomid)?.members ?? [])].map((m) => m.key);
  }

  /** The identity shown as the room's owner ('' for none); undefined for an unknown room. */
  ownerOf(roomid: string): string | undefined {
    const room = this.rooms.get(roomid);
    return room && ownerName(room);
  }

  identityOf(key: SessionKey): string | undefined {
    return this.sessions.get(key)?.identity;
  }

  roomOf(key: SessionKey): string | undefined {
    return this.sessions.get(key)?.roomid;
  }

  /** A new client: guest name, MainHall, then the welcome sequence of seed 004 §2.1. */
  connect(key: SessionKey): Effect[] {
    if (this.sessions.has(key)) return [];
    const session: Session = { key, identity: this.nextGuestName(), roomid: '', owned: new Set(), username: null, admin: false };
    this.sessions.set(key, session);
    this.byIdentity.set(foldName(session.identity), session);
    const fx: Effect[] = [];
    send(fx, session, { type: 'newidentity', former: '', identity: session.identity });
    this.moveTo(fx, session, MAIN_HALL);
    send(fx, session, this.roomList());
    send(fx, session, this.roomContents(MAIN_HALL));
    return fx;
  }

  request(key: SessionKey, req: CoreControlRequest): Effect[] {
    const session = this.sessions.get(key);
    if (!session) return [];
    switch (req.type) {
      case 'identitychange':
        return this.changeIdentity(session, req.identity);
      case 'join':
        return this.join(session, req.roomid);
      case 'who':
        return [deliver([session], this.roomContents(req.roomid))];
      case 'list':
        return [deliver([session], this.roomList())];
      case 'createroom':
        return this.createRoom(session, req.roomid, req.private === true);
      case 'delete':
        return this.deleteRoom(session, req.roomid);
      case 'quit':
        return this.leave(session, true);
    }
  }

  /**
   * The session has proved it is `username` (password or token checked by the caller; the
   * username as stored): it takes that identity, visible to its room as an identity change.
   * It becomes one of the account's devices; when `maxDevices` are logged in already, the
   * oldest is told it was replaced (`replaced`) and closed. A guest going by the name (possible
   * only across a hub restart) is renamed. The account coming online is a `presence` effect. If the account may not
   * be in the session's room, the session is moved out (`readmit`).
   */
  login(key: SessionKey, username: string, replaced: ServerMessage, admin = false): Effect[] {
    const session = this.sessions.get(key);
    if (!session) return [];
    session.admin = admin;
    const folded = foldName(username);
    const fx: Effect[] = [];
    const wasOnline = this.devices.has(folded);
    const sameAccount = session.username !== null && foldName(session.username) === folded;
    if (!sameAccount && session.username !== null) {
      // Logged in as another account before: that account loses this device.
      const former = session.username;
      if (this.removeDevice(session)) fx.push({ kind: 'presence', username: former });
    }
    const holder = this.byIdentity.get(folded);
    if (holder && holder !== session && holder.username === null) fx.push(...this.rename(holder, this.nextGuestName()));
    if (!sameAccount) {
      // Up to maxDevices sessions per account: the oldest makes room for the newest, told why.
      const list = this.devices.get(folded) ?? [];
      while (list.length > 0 && list.length >= this.maxDevices) {
        const oldest = list[0]!;
        fx.push(deliver([oldest], replaced));
        fx.push(...this.leave(oldest, false), { kind: 'end', session: oldest.key });
      }
    }
    this.reserved.set(folded, username);
    session.username = username;
    if (!sameAccount) this.addDevice(session);
    if (session.identity !== username) fx.push(...this.rename(session, username));
    else fx.push({ kind: 'state', session: session.key });
    this.readmit(fx, session);
    // One change of presence, not an offline then online when the last device was replaced.
    const out = fx.filter((e) => e.kind !== 'presence' || foldName(e.username) !== folded);
    if (!wasOnline) out.push({ kind: 'presence', username });
    return out;
  }

  /**
   * Back to being a guest: a fresh guest name, shown to the room as an identity change; moved
   * out of a room the guest may not be in (the account's invitation or ownership is gone).
   */
  logout(key: SessionKey): Effect[] {
    const session = this.sessions.get(key);
    if (!session || session.username === null) return [];
    const username = session.username;
    // Only this device: the account's other devices stay logged in.
    const offline = this.removeDevice(session);
    session.username = null;
    session.admin = false;
    const fx = this.rename(session, this.nextGuestName());
    this.readmit(fx, session);
    if (offline) fx.push({ kind: 'presence', username });
    return fx;
  }

  /**
   * Marks a logged-in session as a server administrator or not (after a hub restart); one that
   * lost the role leaves a room only the role let it into.
   */
  setAdmin(key: SessionKey, admin: boolean): Effect[] {
    const session = this.sessions.get(key);
    if (!session || session.username === null) return [];
    session.admin = admin;
    const fx: Effect[] = [];
    this.readmit(fx, session);
    return fx;
  }

  isAdmin(key: SessionKey): boolean {
    return this.sessions.get(key)?.admin ?? false;
  }

  /** A moderation request (owner or administrator); refusals come back as `error` effects. */
  moderate(key: SessionKey, req: ModerationClientMessage): Effect[] {
    const session = this.sessions.get(key);
    return session ? this.moderation.handle(session, req) : [];
  }

  /**
   * The connection dropped (or its worker died): leave as a quit would, without telling it.
   * With `resumeTokenHash` (the session had asked for a resume token) its identity and room
   * stay held for `reconnectGraceMs`, for whoever presents the token (`reclaim`).
   */
  disconnect(key: SessionKey, resumeTokenHash: string | null = null): Effect[] {
    const session = this.sessions.get(key);
    if (!session) return [];
    const { identity, roomid, username } = session;
    const fx = this.leave(session, false);
    if (resumeTokenHash !== null) this.held.hold({ identity, roomid, username, tokenHash: resumeTokenHash }, this.now());
    return fx;
  }

  /**
   * A new connection presents the resume token of a dropped one (its hash): it gets the held
   * identity back (a guest's; an account's is its login) and returns to the held room if its
   * identity may still enter it, then `reclaimed` says where it is. Refused with a coded error,
   * changing nothing: an unknown or lapsed token (NO_SUCH_SESSION); a guest's hold claimed by a
   * logged-in session, or an account's by a session not logged in as it (NOT_ALLOWED).
   */
  reclaim(key: SessionKey, tokenHash: string): Effect[] {
    const session = this.sessions.get(key);
    if (!session) return [];
    const fx: Effect[] = [];
    const held = this.held.find(tokenHash, this.now());
    if (!held) {
      send(fx, session, errorMessage(ErrorCode.NO_SUCH_SESSION, 'no session is held for this token (unknown, already reclaimed, or its grace period is over)'));
      return fx;
    }
    const mismatch =
      held.username === null
        ? session.username !== null && 'a guest session can only be reclaimed by a guest; log out first'
        : (session.username === null || foldName(session.username) !== foldName(held.username)) && `log in as ${held.username} first`;
    if (mismatch) {
      // Refused: the hold stays for the right claimant.
      send(fx, session, errorMessage(ErrorCode.NOT_ALLOWED, mismatch));
      return fx;
    }
    this.held.release(held);
    if (held.username === null && held.identity !== session.identity) {
      const holder = this.byIdentity.get(foldName(held.identity));
      // A held name cannot be taken meanwhile; the claimant itself may have taken it back by hand.
      if (holder === undefined || holder === session) fx.push(...this.rename(session, held.identity));
    }
    const room = this.rooms.get(held.roomid);
    if (room && room.id !== session.roomid) {
      const barred = this.entryRefusal(session, room);
      if (barred) send(fx, session, barred);
      else if (room.id === MAIN_HALL) this.moveToMainHall(fx, session);
      else this.moveTo(fx, session, room.id);
    }
    this.readmit(fx, session);
    send(fx, session, { type: 'reclaimed', identity: session.identity, roomid: session.roomid });
    return fx;
  }

  /**
   * Rebuilds the state a restarted hub lost from what the workers mirror. A session whose
   * identity is taken meanwhile (should not happen), or a guest going by a registered name,
   * gets a fresh guest name and is told. Then admission is checked again: the store's rules
   * (bans, invitations) are what they are now, and a session they bar is moved out.
   */
  restore(restored: RestoredSession[]): Effect[] {
    const fx: Effect[] = [];
    for (const r of restored) {
      if (this.sessions.has(r.key)) continue;
      const holder = this.byIdentity.get(foldName(r.identity));
      // Another device of the same account may go by the name too.
      const sameAccount = holder !== undefined && r.username !== null && holder.username !== null && foldName(holder.username) === foldName(r.username);
      const clash =
        !isValidIdentity(r.identity) ||
        (holder !== undefined && !sameAccount) ||
        (r.username === null && this.isReserved(r.identity)) ||
        (r.username !== null && foldName(r.username) !== foldName(r.identity));
      const session: Session = {
        key: r.key,
        identity: clash ? this.nextGuestName() : r.identity,
        roomid: '',
        owned: new Set(),
        username: clash ? null : r.username,
        // The hub asks the store again (setAdmin): a revoked grant must not survive a restart.
        admin: false,
      };
      this.sessions.set(r.key, session);
      if (!this.byIdentity.has(foldName(session.identity))) this.byIdentity.set(foldName(session.identity), session);
      if (session.username !== null) this.addDevice(session);
      const room = this.rooms.get(r.roomid) ?? (isValidRoomId(r.roomid) ? this.addRoom(r.roomid, null) : this.rooms.get(MAIN_HALL)!);
      session.roomid = room.id;
      enter(room, session);
      if (clash) send(fx, session, { type: 'newidentity', former: r.identity, identity: session.identity });
    }
    for (const r of restored) {
      const session = this.sessions.get(r.key)!;
      for (const roomid of r.owned) {
        if (roomid === MAIN_HALL || !isValidRoomId(roomid)) continue;
        const room = this.rooms.get(roomid) ?? this.addRoom(roomid, null);
        if (room.owner === null && room.ownerUser === null) {
          room.owner = session;
          session.owned.add(roomid);
        }
      }
      fx.push({ kind: 'state', session: session.key });
    }
    for (const r of restored) this.readmit(fx, this.sessions.get(r.key)!);
    return fx;
  }

  /**
   * The whole state as plain data, changing nothing (expired bans and lapsed holds are kept as
   * they are: they lapse when next looked at, on the original and on a copy alike). A cluster
   * snapshot (src/cluster/snapshot.ts); `loadImage` puts it back.
   */
  image(): ChatStateImage {
    return {
      sessions: [...this.sessions.values()].map((s) => ({ key: s.key, identity: s.identity, roomid: s.roomid, owned: [...s.owned], username: s.username, admin: s.admin })),
      rooms: [...this.rooms.values()].map((r) => ({ id: r.id, owner: r.owner?.key ?? null, ownerUser: r.ownerUser, members: [...r.members].map((m) => m.key), modes: r.modes.image() })),
      reserved: [...this.reserved.values()],
      held: this.held.list(),
      guestHint: this.lowestFreeGuestHint,
      roomsOfUser: [...this.roomsOfUser],
      devices: [...this.devices.values()].map((list) => list.map((s) => s.key)),
      away: [...this.awayUsers],
    };
  }

  /**
   * Replaces a new state (no session yet) by `image`, checked beforehand by
   * checkChatStateImage: the same sessions, rooms, names, holds and counts, in the same orders.
   * Throws when this state has sessions already.
   */
  loadImage(image: ChatStateImage): void {
    if (this.sessions.size > 0) throw new Error('a state image loads only into a new state');
    this.rooms.clear();
    this.roomOrder = null;
    for (const s of image.sessions) {
      const session: Session = { key: s.key, identity: s.identity, roomid: s.roomid, owned: new Set(s.owned), username: s.username, admin: s.admin };
      this.sessions.set(s.key, session);
      if (!this.byIdentity.has(foldName(s.identity))) this.byIdentity.set(foldName(s.identity), session);
    }
    // The devices in login order (which one a login replaces); an older image: session order.
    const deviceKeys = image.devices ?? [...this.sessions.values()].filter((s) => s.username !== null).map((s) => [s.key]);
    for (const keys of deviceKeys) for (const key of keys) this.addDevice(this.sessions.get(key)!);
    for (const [folded, list] of this.devices) this.byIdentity.set(folded, list[0]!);
    for (const folded of image.away ?? []) this.awayUsers.add(folded);
    for (const r of image.rooms) {
      const room = this.addRoom(r.id, r.owner === null ? null : this.sessions.get(r.owner)!);
      room.ownerUser = r.ownerUser;
      for (const key of r.members) enter(room, this.sessions.get(key)!);
      room.modes = RoomModes.from(r.modes);
    }
    this.reserved.clear();
    this.reserve(image.reserved);
    this.held.load(image.held);
    this.lowestFreeGuestHint = image.guestHint;
    this.roomsOfUser.clear();
    for (const [username, count] of image.roomsOfUser) this.roomsOfUser.set(username, count);
  }

  roomList(): ServerMessage {
    const rooms: RoomListEntry[] = [];
    // Names, not connections: an account's devices in a room count once.
    for (const room of this.sortedRooms()) rooms.push({ roomid: room.id, count: room.names.size });
    return { type: 'roomlist', rooms };
  }

  roomContents(roomid: string): ServerMessage {
    const room = this.rooms.get(roomid);
    if (!room) return { type: 'roomcontents', roomid, identities: [], owner: '' };
    return {
      type: 'roomcontents',
      roomid,
      // An account's name once, however many of its devices are in the room.
      identities: [...new Set([...room.members].map((m) => m.identity))],
      owner: ownerName(room),
    };
  }

  // For Moderation: the state it acts on, and the moves it makes the core way ------------

  /** The connected session going by `identity` (in any case). */
  sessionNamed(identity: string): Session | undefined {
    return this.byIdentity.get(foldName(identity));
  }

  /** Every connected session going by `identity` (in any case): all devices of an account, or the one guest. */
  sessionsNamed(identity: string): Session[] {
    const holder = this.byIdentity.get(foldName(identity));
    if (!holder) return [];
    return holder.username === null ? [holder] : [...(this.devices.get(foldName(holder.username)) ?? [holder])];
  }

  /** A room moderation may act on: any but MainHall, which has no owner. */
  moderatedRoom(roomid: string): Room | undefined {
    return roomid === MAIN_HALL ? undefined : this.rooms.get(roomid);
  }

  allSessions(): Iterable<Session> {
    return this.sessions.values();
  }

  /** Moves a member out to MainHall exactly as its own `join` of MainHall would. */
  moveToMainHall(fx: Effect[], session: Session): void {
    this.moveTo(fx, session, MAIN_HALL);
    send(fx, session, this.roomList());
    send(fx, session, this.roomContents(MAIN_HALL));
  }

  /**
   * The admission rule, kept after every change of who a session is or of a room's rules: a
   * session whose current identity may not enter its room (banned, or not invited to a private
   * room) is told why (BANNED / INVITE_ONLY) and moved out to MainHall as a `join` of it would.
   */
  readmit(fx: Effect[], session: Session): void {
    const room = this.rooms.get(session.roomid);
    if (!room || room.id === MAIN_HALL || !this.sessions.has(session.key)) return;
    const barred = this.entryRefusal(session, room);
    if (!barred) return;
    send(fx, session, barred);
    this.moveToMainHall(fx, session);
  }

  /** `readmit` for every member of `room` (after its rules or its owner changed). */
  readmitMembers(fx: Effect[], room: Room): void {
    for (const member of [...room.members]) this.readmit(fx, member);
  }

  /** The session leaves as on a dropped connection, then its connection is closed. */
  drop(session: Session): Effect[] {
    return [...this.leave(session, false), { kind: 'end', session: session.key }];
  }

  /**
   * Gives `room` to a connected session (`to`, guest or logged in) or to an offline account
   * (`to` a username). Refused (false) when the new owner owns `maxRoomsPerOwner` rooms already.
   */
  giveRoom(fx: Effect[], room: Room, to: Session | string): boolean {
    const username = typeof to === 'string' ? to : to.username;
    const count = typeof to === 'string' ? (this.roomsOfUser.get(to) ?? 0) : this.roomsOwnedBy(to);
    if (count >= this.limits.maxRoomsPerOwner) return false;
    if (room.owner) {
      room.owner.owned.delete(room.id);
      fx.push({ kind: 'state', session: room.owner.key });
      room.owner = null;
    }
    if (room.ownerUser !== null) this.countUserRoom(room.ownerUser, -1);
    room.ownerUser = null;
    if (username !== null) {
      // An account's room is stored and outlives connections.
      room.ownerUser = username;
      this.countUserRoom(username, +1);
      fx.push({ kind: 'persist-room', roomid: room.id, owner: username }, { kind: 'persist-room-modes', roomid: room.id });
    } else if (typeof to !== 'string') {
      room.owner = to;
      to.owned.add(room.id);
      fx.push({ kind: 'state', session: to.key });
    }
    return true;
  }

  private changeIdentity(session: Session, wanted: string): Effect[] {
    const former = session.identity;
    // A logged-in session is its account name; a registered or held name is its owner's only;
    // a guest may change the case of its own name.
    if (!isValidIdentity(wanted) || wanted === former || this.nameTaken(wanted, session.key) || session.username !== null) {
      return [deliver([session], { type: 'newidentity', former, identity: former })];
    }
    const fx = this.rename(session, wanted);
    this.readmit(fx, session);
    return fx;
  }

  /**
   * `session` goes by `wanted` from now on; it is told with `newidentity`. Its room's other
   * members are told what changes in the room's names (docs/PROTOCOL.md "Devices"): usually
   * the same `newidentity`, but when another device of an account stays or already is in the
   * room under one of the two names (a login or logout there), a `roomchange` for the name that
   * appears (`former` "") or leaves (`roomid` ""), or nothing, so that a seed-004 client keeping
   * its member list from these lines lists each name once.
   */
  private rename(session: Session, wanted: string): Effect[] {
    const former = session.identity;
    this.releaseName(session, former);
    // Another device of the same account may hold the name already (login checked who holds it).
    if (!this.byIdentity.has(foldName(wanted))) this.byIdentity.set(foldName(wanted), session);
    const room = this.rooms.get(session.roomid)!;
    const inRoom = room.members.has(session);
    if (inRoom) {
      countName(room, former, -1);
      countName(room, wanted, +1);
    }
    session.identity = wanted;
    this.noteGuestNameFreed(former);
    const fx: Effect[] = [{ kind: 'state', session: session.key }];
    const renamed: ServerMessage = { type: 'newidentity', former, identity: wanted };
    // A change of case only (a guest's own name) is a plain rename.
    const formerStays = inRoom && foldName(former) !== foldName(wanted) && nameCount(room, former) > 0;
    const wantedWasThere = inRoom && foldName(former) !== foldName(wanted) && nameCount(room, wanted) > 1;
    if (!formerStays && !wantedWasThere) {
      fx.push(deliver([...room.members], renamed));
      return fx;
    }
    const others = [...room.members].filter((m) => m !== session);
    if (others.length > 0 && formerStays !== wantedWasThere) {
      const seen: ServerMessage = formerStays
        ? { type: 'roomchange', identity: wanted, former: '', roomid: room.id }
        : { type: 'roomchange', identity: former, former: room.id, roomid: '' };
      fx.push(deliver(others, seen));
    }
    fx.push(deliver([session], renamed));
    return fx;
  }

  private join(session: Session, roomid: string): Effect[] {
    const former = session.roomid;
    if (roomid === former || !this.rooms.has(roomid)) {
      return [deliver([session], { type: 'roomchange', identity: session.identity, former, roomid: former })];
    }
    const barred = this.entryRefusal(session, this.rooms.get(roomid)!);
    if (barred) {
      // The seed refusal first (what core clients understand), then why.
      return [deliver([session], { type: 'roomchange', identity: session.identity, former, roomid: former }), deliver([session], barred)];
    }
    const fx: Effect[] = [];
    this.moveTo(fx, session, roomid);
    if (roomid === MAIN_HALL) {
      send(fx, session, this.roomList());
      send(fx, session, this.roomContents(MAIN_HALL));
    }
    return fx;
  }

  /**
   * Why the session may not read `roomid`'s history (`history`, `resume`): a private room's or
   * a ban's refusal, as for `join`, unless it is in the room. Null when it may.
   */
  readRefusal(key: SessionKey, roomid: string): ErrorMessage | null {
    const session = this.sessions.get(key);
    const room = this.rooms.get(roomid);
    if (!session || !room || session.roomid === roomid) return null;
    return this.entryRefusal(session, room);
  }

  /** Why `session` may not enter `room` (private, banned), or null when it may. */
  private entryRefusal(session: Session, room: Room): ErrorMessage | null {
    if (session.admin || isOwner(session, room)) return null;
    const ban = room.modes.banOf(session.identity, this.now());
    if (ban) {
      const until = ban.until === 0 ? 'until unbanned' : `until ${new Date(ban.until).toISOString()}`;
      return errorMessage(ErrorCode.BANNED, `you are banned from ${room.id} ${until}${ban.reason ? `: ${ban.reason}` : ''}`);
    }
    if (room.modes.private && !room.modes.isInvited(session.identity)) {
      return errorMessage(ErrorCode.INVITE_ONLY, `${room.id} is invite-only`);
    }
    return null;
  }

  private createRoom(session: Session, roomid: string, isPrivate: boolean): Effect[] {
    if (isValidRoomId(roomid) && !this.rooms.has(roomid)) {
      if (this.roomsOwnedBy(session) >= this.limits.maxRoomsPerOwner) {
        // Refused the seed way (the unchanged list comes first, as seed clients expect), then why.
        const why: ServerMessage = { type: 'error', code: ErrorCode.TOO_MANY_ROOMS, message: `you own ${this.limits.maxRoomsPerOwner} rooms already; delete one first` };
        return [deliver([session], this.roomListWithout(roomid)), deliver([session], why)];
      }
      if (session.username !== null) {
        // An account's room outlives the connection: stored, and owned by the username.
        const room = this.addRoom(roomid, null);
        room.ownerUser = session.username;
        room.modes.setPrivate(isPrivate);
        this.countUserRoom(session.username, +1);
        const fx: Effect[] = [{ kind: 'persist-room', roomid, owner: session.username }, { kind: 'room-opened', roomid }];
        if (isPrivate) fx.push({ kind: 'persist-room-modes', roomid });
        fx.push(deliver([session], this.roomList()));
        return fx;
      }
      this.addRoom(roomid, session).modes.setPrivate(isPrivate);
      session.owned.add(roomid);
      return [{ kind: 'state', session: session.key }, { kind: 'room-opened', roomid }, deliver([session], this.roomList())];
    }
    return [deliver([session], this.roomListWithout(roomid))];
  }

  /**
   * The reply to a refused `createroom`: the list without the room asked for, even when it
   * exists (MainHall included). Seed-004 clients judge `createroom` by the room's presence in
   * the reply ("the server will respond with a RoomList message with the new room in the list").
   */
  private roomListWithout(roomid: string): ServerMessage {
    const rooms: RoomListEntry[] = [];
    for (const room of this.sortedRooms()) if (room.id !== roomid) rooms.push({ roomid: room.id, count: room.names.size });
    return { type: 'roomlist', rooms };
  }

  private deleteRoom(session: Session, roomid: string): Effect[] {
    const room = this.rooms.get(roomid);
    const fx: Effect[] = [];
    if (room && room.id !== MAIN_HALL && (isOwner(session, room) || session.admin)) {
      // The room is gone first, so the lists its members get no longer offer it; then they
      // move to MainHall "as if they joined it", each move told to both rooms.
      this.removeRoom(roomid);
      fx.push({ kind: 'room-closed', roomid });
      for (const member of [...room.members]) {
        this.moveTo(fx, member, MAIN_HALL, room);
        send(fx, member, this.roomList());
        send(fx, member, this.roomContents(MAIN_HALL));
      }
      if (room.ownerUser !== null) {
        fx.push({ kind: 'unpersist-room', roomid });
        this.countUserRoom(room.ownerUser, -1);
      }
      // An administrator may delete a room a guest owns: that owner's mirror changes.
      if (room.owner) {
        room.owner.owned.delete(roomid);
        fx.push({ kind: 'state', session: room.owner.key });
      }
    }
    send(fx, session, this.roomList());
    return fx;
  }

  private leave(session: Session, quit: boolean): Effect[] {
    const fx: Effect[] = [];
    const touched: Room[] = [];
    // A room this device made as a guest and still holds under the account's name passes to
    // the account's oldest other device: the owner is the name, as membership is, so it stays
    // while a device is on (docs/PROTOCOL.md "Ownership and room lifetime").
    const heir = session.username === null ? undefined : this.devices.get(foldName(session.username))?.find((d) => d !== session);
    for (const roomid of session.owned) {
      const owned = this.rooms.get(roomid);
      if (!owned) continue;
      if (heir) {
        owned.owner = heir;
        heir.owned.add(roomid);
      } else {
        owned.owner = null;
        touched.push(owned);
      }
    }
    if (heir && session.owned.size > 0) fx.push({ kind: 'state', session: heir.key });
    session.owned.clear();
    const room = this.rooms.get(session.roomid);
    if (room) {
      exit(room, session);
      const notice: ServerMessage = { type: 'roomchange', identity: session.identity, former: room.id, roomid: '' };
      // The other members see the name leave with its last device only (docs/PROTOCOL.md "Devices").
      const audience = nameCount(room, session.identity) === 0 ? [...room.members] : [];
      if (quit) audience.push(session);
      if (audience.length > 0) fx.push(deliver(audience, notice));
      touched.push(room);
    }
    this.sessions.delete(session.key);
    this.releaseName(session, session.identity);
    // The account's last device gone: it is offline (its contacts are told).
    if (session.username !== null && this.removeDevice(session)) fx.push({ kind: 'presence', username: session.username });
    this.noteGuestNameFreed(session.identity);
    for (const r of touched) this.deleteIfAbandoned(fx, r);
    fx.push({ kind: 'state', session: session.key });
    if (quit) fx.push({ kind: 'end', session: session.key });
    return fx;
  }

  /**
   * Moves a session into `roomid` and tells the mover. Each room's other members are told only
   * when the mover's name enters or leaves it: an account's second device joining the room of
   * its first, or one of its two devices there leaving, changes no room's list of names
   * (docs/PROTOCOL.md "Devices"). `from` is given when the former room is being deleted and so
   * is no longer in the map.
   */
  private moveTo(fx: Effect[], session: Session, roomid: string, from = this.rooms.get(session.roomid)): void {
    const to = this.rooms.get(roomid)!;
    if (from) exit(from, session);
    const arrives = nameCount(to, session.identity) === 0;
    enter(to, session);
    const former = session.roomid;
    session.roomid = roomid;
    fx.push({ kind: 'state', session: session.key });
    const audience = new Set<Session>(arrives ? to.members : [session]);
    if (from && nameCount(from, session.identity) === 0) for (const m of from.members) audience.add(m);
    fx.push(deliver([...audience], { type: 'roomchange', identity: session.identity, former, roomid }));
    if (from) this.deleteIfAbandoned(fx, from);
  }

  private deleteIfAbandoned(fx: Effect[], room: Room): void {
    if (room.id !== MAIN_HALL && room.owner === null && room.ownerUser === null && room.members.size === 0 && this.rooms.get(room.id) === room) {
      this.removeRoom(room.id);
      fx.push({ kind: 'room-closed', roomid: room.id });
    }
  }

  private get maxDevices(): number {
    return this.limits.maxDevices ?? 1;
  }

  /** `session` (logged in) is its account's newest device. */
  private addDevice(session: Session): void {
    const folded = foldName(session.username!);
    const list = this.devices.get(folded);
    if (!list) this.devices.set(folded, [session]);
    else if (!list.includes(session)) list.push(session);
  }

  /** `session` is no longer one of its account's devices; true when it was the last one (the account is offline). */
  private removeDevice(session: Session): boolean {
    if (session.username === null) return false;
    const folded = foldName(session.username);
    const list = this.devices.get(folded);
    const at = list?.indexOf(session) ?? -1;
    if (!list || at < 0) return false;
    list.splice(at, 1);
    if (list.length > 0) return false;
    this.devices.delete(folded);
    this.awayUsers.delete(folded);
    return true;
  }

  /**
   * `session` stops going by `name`: the name index passes to another device of the same
   * account that still goes by it, or forgets the name.
   */
  private releaseName(session: Session, name: string): void {
    const folded = foldName(name);
    if (this.byIdentity.get(folded) !== session) return;
    const other = this.devices.get(folded)?.find((d) => d !== session && foldName(d.identity) === folded && this.sessions.has(d.key));
    if (other) this.byIdentity.set(folded, other);
    else this.byIdentity.delete(folded);
  }

  /** Rooms the session owns as a guest plus, when logged in, those its account owns. */
  private roomsOwnedBy(session: Session): number {
    return session.owned.size + (session.username === null ? 0 : (this.roomsOfUser.get(session.username) ?? 0));
  }

  private countUserRoom(username: string, delta: number): void {
    const n = (this.roomsOfUser.get(username) ?? 0) + delta;
    if (n > 0) this.roomsOfUser.set(username, n);
    else this.roomsOfUser.delete(username);
  }

  private addRoom(id: string, owner: Session | null): Room {
    const room = newRoom(id, owner);
    this.rooms.set(id, room);
    this.roomOrder = null;
    return room;
  }

  private removeRoom(id: string): void {
    if (this.rooms.delete(id)) this.roomOrder = null;
  }

  /**
   * MainHall first, then by name: an order that survives a hub restart. Kept until a room is
   * added or removed: every welcome sends the list, and sorting a thousand rooms per connect
   * was most of the hub's work in a connect storm.
   */
  private sortedRooms(): Room[] {
    if (this.roomOrder === null) {
      const rest = [...this.rooms.values()].filter((r) => r.id !== MAIN_HALL).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      this.roomOrder = [this.rooms.get(MAIN_HALL)!, ...rest];
    }
    return this.roomOrder;
  }

  /** `guest` + the smallest number whose name nobody holds, is connected as, or has registered. */
  private nextGuestName(): string {
    // One clock reading: a hold lapsing mid-search would free a name below the hint unseen.
    const now = this.now();
    this.held.sweep(now);
    const taken = (name: string): boolean => this.isReserved(name) || this.byIdentity.has(name) || this.held.isHeld(name, now);
    let n = this.lowestFreeGuestHint;
    while (taken(GUEST_PREFIX + n)) n++;
    this.lowestFreeGuestHint = n + 1;
    return GUEST_PREFIX + n;
  }

  private noteGuestNameFreed(identity: string): void {
    const folded = foldName(identity);
    if (!folded.startsWith(GUEST_PREFIX)) return;
    const digits = folded.slice(GUEST_PREFIX.length);
    if (!/^[1-9][0-9]*$/.test(digits)) return;
    const n = Number(digits);
    if (n < this.lowestFreeGuestHint) this.lowestFreeGuestHint = n;
  }

  /**
   * An operator's request from the control socket (src/core/console.ts), decided as an
   * administrator's own request would be, by an administrator who is no session: `actor` is a
   * key no session has, so what would be told to the requester (`disconnected`, an `error`,
   * the room list after a `delete`) is addressed to it alone (the hub's console reads it).
   */
  administer(actor: SessionKey, req: ConsoleRequest): Effect[] {
    const operator: Session = { key: actor, identity: CONSOLE_IDENTITY, roomid: '', owned: new Set(), username: null, admin: true };
    return req.type === 'delete' ? this.deleteRoom(operator, req.roomid) : this.moderation.handle(operator, req);
  }

  /** Rooms that exist now, MainHall included. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /**
   * Whether the account `username` may read `roomid`'s history now, by the rule `history`
   * applies to a session (readRefusal): the room exists, and one of the account's sessions is
   * in it, or it may enter (an administrator, the owner, not banned, invited when private).
   * For a reader with no session: an HTTP download of a file a room message carries.
   */
  accountMayRead(username: string, admin: boolean, roomid: string): boolean {
    const room = this.rooms.get(roomid);
    if (!room) return false;
    for (const member of room.members) if (member.username !== null && foldName(member.username) === foldName(username)) return true;
    const probe: Session = { key: '', identity: username, roomid: '', owned: new Set(), username, admin };
    return this.entryRefusal(probe, room) === null;
  }
}
