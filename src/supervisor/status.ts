import type { ChildStats, ProcessFigures } from '../ipc/process-figures';

/** One process of the server as `switchboard status` shows it. Figures are null when the process did not answer in time. */
export interface ProcessStatus {
  role: 'supervisor' | 'hub' | 'worker';
  /** The worker id (null for the supervisor and the hub). */
  id: number | null;
  pid: number | null;
  /** Since this process started, ms. */
  uptimeMs: number;
  /** Serving (a worker: linked to the hub and taking clients; the hub: listening). */
  ready: boolean;
  /** The supervisor: clients placed and connected; a worker: its sessions; the hub: sessions the chat knows. */
  clients: number | null;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  /** CPU over the last few seconds, percent of one core. */
  cpuPercent: number | null;
  messagesInPerSecond: number | null;
  messagesOutPerSecond: number | null;
}

/** A listener: `kind` tcp, tls, unix, http, https, metrics or control, `address` host:port or a path. */
export interface ListenerStatus {
  kind: string;
  address: string;
}

/** The reply to `status` (`switchboard status --json` prints it as is). */
export interface StatusReport {
  pid: number;
  /** ms since the epoch. */
  startedAt: number;
  uptimeMs: number;
  dataDir: string;
  placement: string;
  /** This node's id when clustered, else null. */
  nodeId: string | null;
  processes: ProcessStatus[];
  listeners: ListenerStatus[];
  /** Clients connected to this node (the supervisor's count). */
  clients: number;
  /** Rooms that exist, MainHall included (null: the hub did not answer). */
  rooms: number | null;
  /** Sessions the chat knows (a cluster: on every node; null: the hub did not answer). */
  sessions: number | null;
  /** Summed over the workers: client lines in and lines out a second, over `windowMs`. */
  rates: { messagesInPerSecond: number; messagesOutPerSecond: number; windowMs: number };
}

/** A process's row from its figures (null: it did not answer). */
export function processRow(
  base: Pick<ProcessStatus, 'role' | 'id' | 'pid' | 'uptimeMs' | 'ready'>,
  figures: (ProcessFigures & { clients?: number }) | null,
  clients: number | null,
): ProcessStatus {
  return {
    ...base,
    clients: figures?.clients ?? clients,
    rssBytes: figures?.rssBytes ?? null,
    heapUsedBytes: figures?.heapUsedBytes ?? null,
    cpuPercent: figures?.cpuPercent ?? null,
    messagesInPerSecond: figures?.messagesInPerSecond ?? null,
    messagesOutPerSecond: figures?.messagesOutPerSecond ?? null,
  };
}

/** The node's rates: the workers' summed. */
export function sumRates(workers: Array<ChildStats | null>): StatusReport['rates'] {
  let messagesInPerSecond = 0;
  let messagesOutPerSecond = 0;
  let windowMs = 0;
  for (const w of workers) {
    if (!w) continue;
    messagesInPerSecond += w.messagesInPerSecond;
    messagesOutPerSecond += w.messagesOutPerSecond;
    windowMs = Math.max(windowMs, w.windowMs);
  }
  return { messagesInPerSecond: Math.round(messagesInPerSecond * 10) / 10, messagesOutPerSecond: Math.round(messagesOutPerSecond * 10) / 10, windowMs };
}
