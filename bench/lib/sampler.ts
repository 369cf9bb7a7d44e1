import { machineCpu, processTree, sample, type MachineCpu } from './procfs';

/** One process of the server as sampled: role, CPU and RSS readings. */
interface Tracked {
  pid: number;
  role: string;
  startTime: number;
  /** CPU seconds at the latest reading. */
  cpuS: number;
  rssKb: number;
  /** Highest RSS seen while a window was open. */
  windowPeakRssKb: number;
}

export interface ProcessUsage {
  pid: number;
  role: string;
  /** CPU seconds used inside the window. */
  cpuS: number;
  /** Peak RSS seen inside the window and RSS at its end (0 if it had exited). */
  peakRssKb: number;
  endRssKb: number;
}

/** CPU and RSS of every process of the server inside one window, by process and by role. */
export interface ServerUsage {
  windowS: number;
  processes: ProcessUsage[];
  cpuS: number;
  /** Sum of the per-process peaks (an upper bound of the simultaneous peak). */
  peakRssKb: number;
  endRssKb: number;
  /** CPU seconds of the whole machine in the window: every process's (ours and others'), irq, steal. */
  machine: MachineCpu;
}

type Snapshot = Map<string, number>;

/**
 * Samples a server's process tree from /proc every `intervalMs`: each process's CPU time
 * (utime+stime of /proc/<pid>/stat) and RSS (VmRSS of /proc/<pid>/status). Processes are keyed
 * by pid and start time, so a reused pid is a new process; processes that come and go
 * (dedicated placement) are counted up to their last reading.
 */
export class ServerSampler {
  private readonly procs = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private windowOpen = false;

  constructor(
    private readonly rootPid: number,
    private readonly roleOf: (pid: number, isRoot: boolean) => string,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.read();
    this.timer = setInterval(() => this.read(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reads every process of the tree now. */
  read(): void {
    for (const pid of processTree(this.rootPid)) {
      const s = sample(pid);
      if (!s) continue;
      const key = `${pid}:${s.startTime}`;
      let t = this.procs.get(key);
      if (!t) {
        t = { pid, role: this.roleOf(pid, pid === this.rootPid), startTime: s.startTime, cpuS: 0, rssKb: 0, windowPeakRssKb: 0 };
        this.procs.set(key, t);
      }
      // A child seen between fork and exec still shows its parent's command line: look again.
      if (t.role === 'other') t.role = this.roleOf(pid, pid === this.rootPid);
      t.cpuS = s.cpuS;
      t.rssKb = s.rssKb;
      if (this.windowOpen) t.windowPeakRssKb = Math.max(t.windowPeakRssKb, s.rssKb);
    }
  }

  /** The RSS sum of the live processes right now. */
  rssNowKb(): number {
    this.read();
    let sum = 0;
    for (const pid of processTree(this.rootPid)) sum += sample(pid)?.rssKb ?? 0;
    return sum;
  }

  /** Live processes by role with their current RSS. */
  rssByProcess(): Array<{ pid: number; role: string; rssKb: number }> {
    this.read();
    const out: Array<{ pid: number; role: string; rssKb: number }> = [];
    for (const pid of processTree(this.rootPid)) {
      const s = sample(pid);
      if (s) out.push({ pid, role: this.procs.get(`${pid}:${s.startTime}`)?.role ?? '?', rssKb: s.rssKb });
    }
    return out;
  }

  /** Opens a measuring window: returns a function that closes it and reports usage inside. */
  openWindow(): () => ServerUsage {
    this.read();
    const begin: Snapshot = new Map([...this.procs].map(([k, t]) => [k, t.cpuS]));
    const beganAt = Date.now();
    const m0 = machineCpu();
    for (const t of this.procs.values()) t.windowPeakRssKb = t.rssKb;
    this.windowOpen = true;
    return () => {
      this.read();
      this.windowOpen = false;
      const live = new Set(processTree(this.rootPid).map((pid) => `${pid}:${sample(pid)?.startTime}`));
      const processes: ProcessUsage[] = [];
      for (const [key, t] of this.procs) {
        const cpuS = t.cpuS - (begin.get(key) ?? 0);
        const endRssKb = live.has(key) ? t.rssKb : 0;
        if (!begin.has(key) && cpuS === 0 && endRssKb === 0 && t.windowPeakRssKb === 0) continue;
        if (begin.has(key) && !live.has(key) && cpuS === 0) continue;
        processes.push({ pid: t.pid, role: t.role, cpuS, peakRssKb: t.windowPeakRssKb, endRssKb });
      }
      return {
        windowS: (Date.now() - beganAt) / 1000,
        processes,
        cpuS: processes.reduce((a, p) => a + p.cpuS, 0),
        peakRssKb: processes.reduce((a, p) => a + p.peakRssKb, 0),
        endRssKb: processes.reduce((a, p) => a + p.endRssKb, 0),
        machine: ((m1) => ({ busyS: m1.busyS - m0.busyS, irqS: m1.irqS - m0.irqS, stealS: m1.stealS - m0.stealS }))(machineCpu()),
      };
    };
  }
}
