import { ChatState, type RestoredSession } from '../core/chat-state';
import type { Effect, SessionKey } from '../core/effects';
import type { ControlRequest } from '../protocol/messages';
import { encodeEnd, encodeState, encodeToRoom, encodeToSessions } from '../ipc/hub-link-messages';
import { parseSessionKey, type WorkerLink } from './worker-link';

/** A room's gathered chat is sent once it reaches this size, far below a worker's frame bound. */
const FLUSH_AT_BYTES = 1024 * 1024;

/**
 * The hub's sequencer: applies requests to the one ChatState in arrival order and turns the
 * effects into frames, one per interested worker (never one per client).
 */
export class Router {
  private readonly state = new ChatState();
  private readonly links = new Map<number, WorkerLink>();
  /** For each room, the workers holding members of it and how many: chat fan-out targets. */
  private readonly roomWorkers = new Map<string, Map<WorkerLink, number>>();
  /** The room each session was last mirrored in, to keep roomWorkers counts right. */
  private readonly mirroredRoom = new Map<SessionKey, string>();
  /** Chat lines of this event-loop turn, per room, sent as one frame per worker at flush. */
  private readonly pendingChat = new Map<string, Buffer[]>();
  private pendingChatBytes = 0;
  private flushScheduled = false;
  private readonly flushChatSoon = (): void => {
    this.flushScheduled = false;
    this.flushChat();
  };

  get sessionCount(): number {
    return this.state.sessionCount;
  }

  addLink(link: WorkerLink): void {
    this.links.set(link.workerId!, link);
  }

  /** A worker's link is gone: its sessions leave as dropped connections. */
  removeLink(link: WorkerLink): void {
    if (this.links.get(link.workerId!) !== link) return;
    // Still registered while its sessions leave, so room counts drop; its socket is closed.
    for (const id of [...link.sessions]) this.apply(this.state.disconnect(link.keyOf(id)));
    link.sessions.clear();
    this.links.delete(link.workerId!);
  }

  restore(sessions: RestoredSession[]): void {
    for (const s of sessions) this.linkOf(s.key)?.sessions.add(parseSessionKey(s.key).id);
    this.apply(this.state.restore(sessions));
  }

  open(link: WorkerLink, id: number): void {
    link.sessions.add(id);
    this.apply(this.state.connect(link.keyOf(id)));
  }

  request(link: WorkerLink, id: number, request: ControlRequest): void {
    this.apply(this.state.request(link.keyOf(id), request));
  }

  close(link: WorkerLink, id: number): void {
    if (!link.sessions.delete(id)) return;
    this.apply(this.state.disconnect(link.keyOf(id)));
  }

  /**
   * Encodes the broadcast once. Lines of one room are gathered for the rest of this event-loop
   * turn and go out as one frame per worker with members in the room (a burst of N messages
   * costs each worker one frame and each socket one write, not N).
   */
  chat(link: WorkerLink, id: number, content: string): void {
    const key = link.keyOf(id);
    const roomid = this.state.roomOf(key);
    if (roomid === undefined) return;
    const line = Buffer.from(`{"type":"message","identity":${JSON.stringify(this.state.identityOf(key))},"content":${JSON.stringify(content)}}\n`);
    const pending = this.pendingChat.get(roomid);
    if (pending) pending.push(line);
    else this.pendingChat.set(roomid, [line]);
    this.pendingChatBytes += line.length;
    // Keep frames far below the workers' frame bound however big the burst.
    if (this.pendingChatBytes >= FLUSH_AT_BYTES) this.flushChat();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushChatSoon);
    }
  }

  /**
   * Sends the gathered chat. Runs before any state change too: recipients are the members at
   * the time of sending, and a member must see a room's messages before it sees itself leave.
   */
  private flushChat(): void {
    for (const [roomid, lines] of this.pendingChat) {
      const workers = this.roomWorkers.get(roomid);
      if (!workers) continue;
      const frame = encodeToRoom(roomid, lines.length === 1 ? lines[0]! : Buffer.concat(lines));
      for (const worker of workers.keys()) worker.write(frame);
    }
    this.pendingChat.clear();
    this.pendingChatBytes = 0;
  }

  private apply(effects: Effect[]): void {
    if (this.pendingChat.size > 0) this.flushChat();
    for (const fx of effects) {
      switch (fx.kind) {
        case 'deliver':
          this.deliver(fx.to, Buffer.from(JSON.stringify(fx.message) + '\n'));
          break;
        case 'state':
          this.mirror(fx.session);
          break;
        case 'end': {
          const { id } = parseSessionKey(fx.session);
          const link = this.linkOf(fx.session);
          link?.sessions.delete(id);
          link?.write(encodeEnd(id));
          break;
        }
      }
    }
  }

  private deliver(to: SessionKey[], line: Buffer): void {
    const byWorker = new Map<WorkerLink, number[]>();
    for (const key of to) {
      const link = this.linkOf(key);
      if (!link) continue;
      const ids = byWorker.get(link);
      const { id } = parseSessionKey(key);
      if (ids) ids.push(id);
      else byWorker.set(link, [id]);
    }
    for (const [link, ids] of byWorker) link.write(encodeToSessions(ids, line));
  }

  /** Tells the session's worker its new state and moves it between roomWorkers counts. */
  private mirror(key: SessionKey): void {
    const link = this.linkOf(key);
    const view = this.state.view(key);
    const before = this.mirroredRoom.get(key);
    const after = view?.roomid;
    if (link && before !== after) {
      if (before !== undefined) this.countWorker(before, link, -1);
      if (after !== undefined) this.countWorker(after, link, +1);
    }
    if (after === undefined) this.mirroredRoom.delete(key);
    else this.mirroredRoom.set(key, after);
    if (link && view) link.write(encodeState(parseSessionKey(key).id, view));
  }

  private countWorker(roomid: string, link: WorkerLink, delta: number): void {
    let workers = this.roomWorkers.get(roomid);
    if (!workers) this.roomWorkers.set(roomid, (workers = new Map()));
    const n = (workers.get(link) ?? 0) + delta;
    if (n > 0) workers.set(link, n);
    else workers.delete(link);
    if (workers.size === 0) this.roomWorkers.delete(roomid);
  }

  private linkOf(key: SessionKey): WorkerLink | undefined {
    return this.links.get(parseSessionKey(key).workerId);
  }
}
