import type { Logger } from 'pino';
import type { RestoredSession } from '../core/chat-state';
import { Kind, type Hello, type WorkerToHub } from '../ipc/hub-link-messages';
import { Router } from './router';
import type { WorkerLink } from './worker-link';

/**
 * The hub's message handling. A restarted hub first waits for the workers alive before it
 * (or a deadline), rebuilds rooms from their HELLOs, and only then serves anything, so names
 * and rooms are as they were before the crash.
 */
export class Hub {
  private readonly router = new Router();
  private recovering: boolean;
  private readonly awaited: Set<number>;
  private readonly restored: RestoredSession[] = [];
  private readonly awaitingWelcome: Array<{ link: WorkerLink; id: number }> = [];
  private readonly heldDuringRecovery: Array<{ link: WorkerLink; msg: WorkerToHub }> = [];

  constructor(
    expectedWorkers: number[],
    recoveryDeadlineMs: number,
    private readonly log: Logger,
  ) {
    this.awaited = new Set(expectedWorkers);
    this.recovering = this.awaited.size > 0;
    if (this.recovering) {
      log.info({ expectedWorkers }, 'recovering: waiting for workers to re-register');
      setTimeout(() => this.finishRecovery(), recoveryDeadlineMs).unref();
    }
  }

  get sessionCount(): number {
    return this.router.sessionCount;
  }

  onMessage(link: WorkerLink, msg: WorkerToHub): void {
    if (msg.kind === Kind.HELLO) return this.onHello(link, msg.hello);
    if (link.workerId === null) {
      this.log.error('frame before HELLO; closing the link');
      link.socket.destroy();
      return;
    }
    if (this.recovering) {
      this.heldDuringRecovery.push({ link, msg });
      return;
    }
    this.handle(link, msg);
  }

  onLinkClosed(link: WorkerLink): void {
    if (link.workerId === null) return;
    this.log.info({ workerId: link.workerId, sessions: link.sessions.size }, 'worker link closed');
    if (this.recovering) {
      const prefix = link.keyOf(0).replace(/0$/, '');
      removeWhere(this.restored, (s) => s.key.startsWith(prefix));
      removeWhere(this.awaitingWelcome, (w) => w.link === link);
      removeWhere(this.heldDuringRecovery, (h) => h.link === link);
    }
    this.router.removeLink(link);
  }

  private onHello(link: WorkerLink, hello: Hello): void {
    link.workerId = hello.workerId;
    this.router.addLink(link);
    for (const s of hello.sessions) {
      if (s.view) this.restored.push({ key: link.keyOf(s.id), ...s.view });
      else this.awaitingWelcome.push({ link, id: s.id });
    }
    this.log.info({ workerId: hello.workerId, sessions: hello.sessions.length }, 'worker registered');
    this.awaited.delete(hello.workerId);
    if (!this.recovering || this.awaited.size === 0) this.finishRecovery();
  }

  private finishRecovery(): void {
    if (this.recovering) {
      this.recovering = false;
      if (this.awaited.size > 0) this.log.warn({ missing: [...this.awaited] }, 'recovery deadline passed without some workers');
      this.log.info({ sessions: this.restored.length }, 'recovered');
    }
    this.router.restore(this.restored.splice(0));
    for (const { link, id } of this.awaitingWelcome.splice(0)) this.router.open(link, id);
    for (const { link, msg } of this.heldDuringRecovery.splice(0)) this.handle(link, msg);
  }

  private handle(link: WorkerLink, msg: WorkerToHub): void {
    switch (msg.kind) {
      case Kind.OPEN:
        return this.router.open(link, msg.id);
      case Kind.REQUEST:
        return this.router.request(link, msg.id, msg.request);
      case Kind.CHAT:
        return this.router.chat(link, msg.id, msg.content);
      case Kind.CLOSE:
        return this.router.close(link, msg.id);
      case Kind.HELLO:
        return;
    }
  }
}

function removeWhere<T>(items: T[], doomed: (item: T) => boolean): void {
  let kept = 0;
  for (const item of items) if (!doomed(item)) items[kept++] = item;
  items.length = kept;
}
