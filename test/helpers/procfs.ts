import fs from 'node:fs';

/**
 * Test helpers that look at processes and sockets from outside, through Linux /proc.
 * Every function tolerates processes vanishing while it reads (they do, in these tests).
 */

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T, X, ... */
  state: string;
  ppid: number;
  /** Session id (field 6): the pid of the session's leader (a daemon leads its own). */
  session: number;
  /** Start time after boot, in clock ticks: with the pid, identifies one process (pids are reused). */
  startTime: number;
}

/** /proc/<pid>/stat, parsed; undefined when there is no such process. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state), rest[1] field 4 (ppid), rest[3] field 6 (session), rest[19] field 22 (starttime).
  return { pid, state: rest[0]!, ppid: Number(rest[1]), session: Number(rest[3]), startTime: Number(rest[19]) };
}

/** Every pid currently listed in /proc. */
export function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^[0-9]+$/.test(name))
    .map(Number);
}

/** Direct children of `pid` (zombies included; see `isAlive`). */
export function childPids(pid: number): number[] {
  const found = new Set<number>();
  // Fast path: /proc/<pid>/task/<tid>/children (needs CONFIG_PROC_CHILDREN).
  let usedTaskChildren = false;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
        usedTaskChildren = true;
        for (const p of text.split(/\s+/).filter(Boolean)) found.add(Number(p));
      } catch {
        /* thread gone, or the kernel lacks the file */
      }
    }
  } catch {
    return [];
  }
  if (!usedTaskChildren) {
    for (const p of allPids()) if (procStat(p)?.ppid === pid) found.add(p);
  }
  return [...found].sort((a, b) => a - b);
}

/** Children, grandchildren, ... of `pid` (not `pid` itself). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  const seen = new Set<number>([pid]);
  while (queue.length > 0) {
    for (const child of childPids(queue.shift()!)) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * True when `pid` runs and is not a zombie (state Z) or dead (X). With `startTime`, also
 * requires it to be that same process, not a later one that reused the pid.
 */
export function isAlive(pid: number, startTime?: number): boolean {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/** True when `pid` exists as an unreaped zombie. */
export function isZombie(pid: number): boolean {
  return procStat(pid)?.state === 'Z';
}

/** The command line of `pid` as its arguments; [] when gone or unreadable. */
export function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Pids whose command line or environment contains `text` (environments are readable for our
 * own processes only). Finds every process of a server by its unique data dir, even orphans.
 */
export function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let hit = cmdline(pid).some((a) => a.includes(text));
    if (!hit) {
      try {
        hit = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(text);
      } catch {
        /* not ours, or gone */
      }
    }
    if (hit) out.push(pid);
  }
  return out;
}

/** Resident set size in kB (VmRSS of /proc/<pid>/status); undefined when gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** One row of /proc/net/tcp or tcp6. */
export interface TcpEntry {
  localPort: number;
  remotePort: number;
  /** Hex state: 01 ESTABLISHED, 0A LISTEN, 06 TIME_WAIT, ... */
  state: string;
  inode: number;
  /** Bytes in the kernel's send and receive queues. */
  tx: number;
  rx: number;
}

/** Every TCP socket of this network namespace (IPv4 and IPv6 tables). */
export function tcpTable(): TcpEntry[] {
  const rows: TcpEntry[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      // f[1] local "ADDR:PORT", f[2] remote, f[3] state, f[9] inode; ports are big-endian hex.
      const localPort = parseInt(f[1]!.split(':')[1]!, 16);
      const remotePort = parseInt(f[2]!.split(':')[1]!, 16);
      const [tx, rx] = f[4]!.split(':').map((h) => parseInt(h, 16));
      rows.push({ localPort, remotePort, state: f[3]!, inode: Number(f[9]), tx: tx!, rx: rx! });
    }
  }
  return rows;
}

/**
 * Socket inodes of the TCP connections whose local port is `localPort` and remote port is
 * `remotePort`: for a server-side socket, local = the server's port, remote = the client's.
 * Sockets no process owns any more (TIME_WAIT, orphans) have inode 0 and are left out.
 */
export function tcpConnectionInodes(localPort: number, remotePort: number): number[] {
  // Distinct: the kernel may list one socket twice in a read of /proc/net/tcp while the table
  // changes under it (other connections opening and closing meanwhile).
  const inodes = tcpTable()
    .filter((r) => r.localPort === localPort && r.remotePort === remotePort && r.inode !== 0)
    .map((r) => r.inode);
  return [...new Set(inodes)];
}

/** The socket inodes among the open file descriptors of `pid` (empty when gone/unreadable). */
export function socketInodes(pid: number): Set<number> {
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/**
 * The pids among `candidates` holding a descriptor of the server side of the TCP connection
 * local `localPort` (the server's port) <-> remote `remotePort` (the client's local port).
 */
export function pidsHoldingTcpConnection(localPort: number, remotePort: number, candidates: Iterable<number>): number[] {
  const inodes = tcpConnectionInodes(localPort, remotePort);
  if (inodes.length === 0) return [];
  const holders: number[] = [];
  for (const pid of candidates) {
    const held = socketInodes(pid);
    if (inodes.some((i) => held.has(i))) holders.push(pid);
  }
  return holders.sort((a, b) => a - b);
}
