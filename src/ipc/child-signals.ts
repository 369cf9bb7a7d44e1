/**
 * The signals that stop a Switchboard server, and how a child process (hub, worker) takes them.
 *
 * A stop signal usually reaches every process of the server at once: Ctrl-C (SIGINT) and
 * Ctrl-\ (SIGQUIT) in a terminal go to the whole foreground process group, `kill -TERM -PGID`
 * to the group, and systemd's default `KillMode=control-group` sends SIGTERM to every process
 * of the unit. If each child died of it, clients would lose their connection with no
 * `SHUTTING_DOWN` and the hub would not close the store in order. So the supervisor alone acts
 * on a stop signal (it drives the documented shutdown: workers first, then the hub), and a
 * child leaves it to the supervisor.
 *
 * SIGQUIT counts as a stop signal, as nginx's graceful stop: a Node process has no core dump
 * to give for it, and Ctrl-\ is what a terminal user tries after Ctrl-C.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const;

export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * In a child process: a stop signal or a terminal hangup (SIGHUP) does not end it. A stop
 * signal sent to this child alone (`kill PID`) is still honoured: if the supervisor has not
 * stopped the child within `graceMs` of the signal (the supervisor's own shutdown deadline,
 * so a child is never stopped ahead of the supervisor's order), `stopSelf` runs, the same
 * orderly stop the supervisor would have asked for. A child whose supervisor is gone learns it
 * from its IPC channel closing ('disconnect'), not from signals.
 */
export function leaveStopSignalsToSupervisor(graceMs: number, stopSelf: (signal: StopSignal) => void): void {
  let pending: NodeJS.Timeout | null = null;
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      pending ??= setTimeout(() => stopSelf(signal), graceMs);
    });
  }
  // The supervisor decides what a hangup means (a lost terminal stops the server, a
  // `kill -HUP` reloads the certificate) and tells the children.
  process.on('SIGHUP', () => {});
  // An upgrade (SIGUSR2) is the supervisor's to run; sent to the whole group it must not end
  // a child (a signal's default action).
  process.on('SIGUSR2', () => {});
}
