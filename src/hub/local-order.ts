import type { SessionKey } from '../core/effects';
import type { Attachment, CoreControlRequest } from '../protocol/messages';
import type { OrderSource, RestoredOnLink } from './order-source';
import { applyOutcome, type Outcome } from './outcomes';
import type { HubContext } from './services';
import type { WorkerLink } from './worker-link';

/** One node: the hub orders requests by arrival and applies each at once. */
export class LocalOrder implements OrderSource {
  constructor(private readonly ctx: HubContext) {}

  /** Loads what the store knows before any worker is served: accounts, rooms, sequences. */
  async load(recovering: boolean): Promise<void> {
    const { store, router } = this.ctx;
    router.state.reserve(await store.listUsernames());
    const rules = await store.listRoomRules();
    router.state.loadPersistentRooms((await store.listRooms()).map((r) => ({ ...r, modes: rules.get(r.roomid) })));
    router.sequencer.load(await store.lastRoomSeqs(), await store.roomEpochs());
    if (!recovering) router.dropAbsentRooms();
  }

  open(link: WorkerLink, id: number, address: string): void {
    this.ctx.router.open(link, id, address);
  }

  close(link: WorkerLink, id: number): void {
    this.ctx.router.close(link, id);
  }

  chat(key: SessionKey, content: string, attachment?: Attachment): void {
    this.ctx.router.chat(key, content, undefined, attachment);
  }

  core(key: SessionKey, request: CoreControlRequest): void {
    this.ctx.router.request(key, request);
  }

  decide(key: SessionKey, outcome: Outcome): void {
    applyOutcome(this.ctx.router, key, outcome);
  }

  linkClosed(link: WorkerLink): void {
    this.ctx.router.removeLink(link);
  }

  restore(sessions: RestoredOnLink[]): void {
    this.ctx.router.restore(sessions);
  }

  refusal(): null {
    return null;
  }

  /** Applied as it arrives: always caught up. */
  caughtUp(): undefined {
    return undefined;
  }
}
