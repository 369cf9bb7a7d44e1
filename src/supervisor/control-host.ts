import type { Config } from '../config/schema';
import type { ConsoleRequest } from '../core/console';
import { CONTROL_CHILD_TIMEOUT_MS, ControlCode, ControlError } from '../ipc/control-protocol';
import { ProcessSampler } from '../ipc/process-figures';
import type { Child } from './child';
import type { ChildRequests } from './child-requests';
import type { ControlHost } from './control-ops';
import type { ReloadReport } from './reload-settings';
import { processRow, sumRates, type ListenerStatus, type StatusReport } from './status';

/** What the control socket's host reads of the supervisor. */
export interface ControlledServer {
  readonly config: Config;
  readonly startedAt: number;
  /** Clients placed and still connected. */
  clientCount(): number;
  hubChild(): Child | null;
  workerChildren(): Child[];
  listeners(): ListenerStatus[];
  reload(): Promise<ReloadReport>;
}

/** How long `status` waits for each child's figures: a busy child shows without them. */
const STATS_TIMEOUT_MS = 2000;

/** The supervisor's side of the control socket's ops (see ControlHost). */
export class SupervisorControl implements ControlHost {
  private readonly sampler = new ProcessSampler();

  constructor(
    private readonly server: ControlledServer,
    private readonly requests: ChildRequests,
  ) {}

  async status(): Promise<StatusReport> {
    const { server } = this;
    const now = Date.now();
    const hub = server.hubChild();
    const workers = server.workerChildren();
    const ask = (c: Child) => this.requests.ask(c, (id) => ({ type: 'stats', id }), 'stats', STATS_TIMEOUT_MS).then((a) => a?.stats ?? null);
    const [hubStats, ...workerStats] = await Promise.all([hub ? ask(hub) : Promise.resolve(null), ...workers.map(ask)]);
    const processes = [
      processRow({ role: 'supervisor', id: null, pid: process.pid, uptimeMs: now - server.startedAt, ready: true }, this.sampler.figures(), server.clientCount()),
      ...(hub ? [processRow({ role: 'hub', id: null, pid: hub.pid ?? null, uptimeMs: now - hub.startedAt, ready: hub.ready }, hubStats, null)] : []),
      ...workers.map((w, i) => processRow({ role: 'worker', id: w.id, pid: w.pid ?? null, uptimeMs: now - w.startedAt, ready: w.ready }, workerStats[i] ?? null, w.sessions)),
    ];
    return {
      pid: process.pid,
      startedAt: server.startedAt,
      uptimeMs: now - server.startedAt,
      dataDir: server.config.dataDir,
      placement: server.config.placement,
      nodeId: server.config.cluster ? server.config.nodeId : null,
      processes,
      listeners: server.listeners(),
      clients: server.clientCount(),
      rooms: hubStats?.rooms ?? null,
      sessions: hubStats?.clients ?? null,
      rates: sumRates(workerStats),
    };
  }

  async console(request: ConsoleRequest): Promise<Record<string, unknown>> {
    const hub = this.server.hubChild();
    if (!hub || !hub.ready) throw new ControlError(ControlCode.UNAVAILABLE, 'the hub is not running (restarting?); try again');
    // A cluster's request waits for its log's commit, retries included.
    const timeout = Math.max(CONTROL_CHILD_TIMEOUT_MS, this.server.config.clusterProposeTimeoutMs + 1000);
    const answer = await this.requests.ask(hub, (id) => ({ type: 'console', id, request }), 'console-reply', timeout);
    if (!answer) throw new ControlError(ControlCode.UNAVAILABLE, `the hub did not answer within ${timeout} ms; the request may or may not have taken effect`);
    if (!answer.reply.ok) throw new ControlError(answer.reply.code, answer.reply.message);
    return answer.reply.result;
  }

  reload(): Promise<ReloadReport> {
    return this.server.reload();
  }
}
