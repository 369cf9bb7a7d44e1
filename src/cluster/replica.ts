import type { Logger } from 'pino';
import { applyOutcome } from '../hub/outcomes';
import type { Router } from '../hub/router';
import type { ApplyContext } from './apply-context';
import { nodeOfKey, type LogEntry } from './entries';

/**
 * Applies cluster log entries, in log order, to one node's router (its ChatState and
 * sequencer). Decides only from the entry: its seq and `ts` go to the ApplyContext (the
 * state's clock, the epochs' source) before it is applied. Effects for sessions of other
 * nodes are dropped by the router; this node's own are delivered.
 */
export class Replica {
  /** Stream seq of the last entry applied. */
  appliedSeq = 0;

  constructor(
    private readonly router: Router,
    private readonly context: ApplyContext,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  /**
   * Applies `entry` at stream seq `seq`; false (nothing done) for a seq applied already. A
   * failure while applying is logged and the replica goes on with the next entry.
   */
  apply(entry: LogEntry, seq: number): boolean {
    if (seq <= this.appliedSeq) return false;
    this.appliedSeq = seq;
    this.context.seq = seq;
    this.context.ts = entry.ts;
    try {
      this.applyEntry(entry);
    } catch (err) {
      this.log.error({ err, seq, type: entry.type }, 'applying a cluster log entry failed; skipped');
    }
    return true;
  }

  private applyEntry(entry: LogEntry): void {
    const { router } = this;
    switch (entry.type) {
      case 'node-start':
        return this.dropNode(entry.node, false);
      case 'node-gone':
        if (entry.node === this.nodeId) this.log.warn({ by: entry.by }, 'this node was declared gone (its heartbeat lapsed); closing its clients, they reconnect');
        else this.log.info({ node: entry.node, by: entry.by }, 'cluster node gone; its clients leave');
        return this.dropNode(entry.node, entry.node === this.nodeId);
      case 'connect':
        return router.connect(entry.key);
      case 'disconnect':
        return router.disconnect(entry.key);
      case 'request':
        return router.request(entry.key, entry.request);
      case 'chat':
        return router.chat(entry.key, entry.content, { id: entry.id, ts: entry.ts }, entry.attachment);
      case 'outcome':
        return applyOutcome(router, entry.key, entry.outcome);
      case 'accounts':
        return router.state.reserve(entry.usernames);
    }
  }

  /**
   * Every session of `node` leaves as a dropped connection, in key order (the same on every
   * replica); idempotent. `closeLocal`: they are this node's own (declared gone while alive):
   * their connections are closed too, as the chat no longer knows them.
   */
  private dropNode(node: string, closeLocal: boolean): void {
    const keys = [...this.router.state.allSessions()].map((s) => s.key).filter((k) => nodeOfKey(k) === node).sort();
    for (const key of keys) {
      this.router.disconnect(key);
      if (closeLocal) this.router.end(key);
    }
  }
}
