import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Reading processes from outside through Linux /proc: CPU time, RSS, command line and the
 * process tree. Every function tolerates a process vanishing while it is read.
 */

let clockTicks: number | undefined;

/** Clock ticks per second of the utime/stime fields (`getconf CLK_TCK`, nearly always 100). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  pid: number;
  ppid: number;
  /** user + system CPU time in seconds. */
  cpuS: number;
  /** Start time after boot in clock ticks: with the pid, names one process (pids are reused). */
  startTime: number;
  rssKb: number;
}

/** One reading of /proc/<pid>/stat and /proc/<pid>/status; undefined when the process is gone. */
export function sample(pid: number): ProcSample | undefined {
  let stat: string;
  let status: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is parenthesised and may hold spaces: split after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] = field 3 (state); fields 14/15 utime/stime = rest[11]/rest[12]; 22 starttime = rest[19].
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return {
    pid,
    ppid: Number(rest[1]),
    cpuS: (Number(rest[11]) + Number(rest[12])) / ticksPerSecond(),
    startTime: Number(rest[19]),
    rssKb: rss ? Number(rss[1]) : 0,
  };
}

/** Direct children of `pid`, from /proc/<pid>/task/<tid>/children (or a /proc walk without it). */
export function childPids(pid: number): number[] {
  const found = new Set<number>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  let supported = false;
  for (const tid of tids) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      supported = true;
      for (const p of text.split(/\s+/)) if (p) found.add(Number(p));
    } catch {
      /* thread gone, or a kernel without the file */
    }
  }
  if (!supported) {
    for (const name of fs.readdirSync('/proc')) {
      if (/^\d+$/.test(name) && sample(Number(name))?.ppid === pid) found.add(Number(name));
    }
  }
  return [...found];
}

/** `pid` and all its descendants, parents before children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
    queue.push(...childPids(p));
  }
  return out;
}

/** The command line of `pid` joined by spaces; '' when gone. */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** True while `pid` is the same live process (same start time) as when it was sampled. */
export function stillRunning(pid: number, startTime: number): boolean {
  const s = sample(pid);
  return s !== undefined && s.startTime === startTime;
}

/** CPU seconds of the whole machine since boot (all CPUs), from the `cpu` line of /proc/stat. */
export interface MachineCpu {
  /** user + nice + system: processes' own work. */
  busyS: number;
  /** irq + softirq: kernel interrupt work (loopback TCP is mostly softirq), charged to no process. */
  irqS: number;
  /** Time the hypervisor gave this VM's CPUs to someone else. */
  stealS: number;
}

export function machineCpu(): MachineCpu {
  try {
    const f = /^cpu\s+(.+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))![1]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const t = ticksPerSecond();
    return { busyS: (f[0]! + f[1]! + f[2]!) / t, irqS: (f[5]! + f[6]!) / t, stealS: (f[7] ?? 0) / t };
  } catch {
    return { busyS: NaN, irqS: NaN, stealS: NaN };
  }
}
