import type { ChildToSupervisor, SupervisorToChild } from '../ipc/supervisor-messages';
import type { Child } from './child';

type Answer = Extract<ChildToSupervisor, { id: number }>;

/**
 * Requests the supervisor makes of its children that expect an answer (figures, console
 * requests): each gets an id the child echoes. Bounded in time: a child that does not answer
 * (busy, dying, gone) yields null after the timeout; nothing waits forever.
 */
export class ChildRequests {
  private next = 1;
  private readonly pending = new Map<number, (answer: Answer) => void>();

  /** Sends `build(id)` to `child` and resolves with its answer of type `type`, or null after `timeoutMs`. */
  ask<T extends Answer['type']>(child: Child, build: (id: number) => SupervisorToChild, type: T, timeoutMs: number): Promise<Extract<Answer, { type: T }> | null> {
    if (!child.alive) return Promise.resolve(null);
    const id = this.next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(answer.type === type ? (answer as Extract<Answer, { type: T }>) : null);
      });
      child.send(build(id));
    });
  }

  /** A child's answer: handed to whoever asked (a late one, after its timeout, is dropped). */
  settle(answer: Answer): void {
    this.pending.get(answer.id)?.(answer);
  }
}
