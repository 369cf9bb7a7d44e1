/**
 * A session's timers by name: starting one replaces the running one of that name, so that a
 * late timer of a previous wait can never fire.
 */
export class NamedTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** Runs `fire` after `ms`, instead of the timer `name` if one is running. */
  start(name: string, ms: number, fire: () => void): void {
    this.clear(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        fire();
      }, ms),
    );
  }

  /** Whether the timer `name` is running. */
  has(name: string): boolean {
    return this.timers.has(name);
  }

  clear(name: string): void {
    const timer = this.timers.get(name);
    if (timer) clearTimeout(timer);
    this.timers.delete(name);
  }

  clearAll(): void {
    for (const name of [...this.timers.keys()]) this.clear(name);
  }
}
