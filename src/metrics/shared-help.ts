/**
 * Help texts of the metrics more than one kind of process reports: the supervisor merges
 * them by name and shows the first help it meets, so both sides must say the same.
 */

export const ERRORS_HELP =
  'Refusals by error code: error lines sent to clients (by workers and the hub), and lines of core clients dropped for the same reason (they get no error line).';

export const IPC_QUEUE_HELP =
  'Bytes waiting on the IPC links between processes, by link: worker_to_hub (queued while the hub is away, plus the socket buffer), hub_to_worker (hub socket buffers), hub_outbox (frames held until the store has the messages ahead of them).';
