import fs from 'node:fs';

/**
 * Whether this process has a controlling terminal now: `/dev/tty` opens only then (ENXIO
 * otherwise). A process started from a terminal loses it when the terminal hangs up (the
 * window closed, the SSH session dropped): the kernel detaches the session from the tty
 * before the shell passes the SIGHUP on to its jobs.
 */
export function hasControllingTerminal(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/tty', fs.constants.O_RDONLY | fs.constants.O_NOCTTY));
    return true;
  } catch {
    return false;
  }
}

/**
 * Tells the two meanings of SIGHUP apart: a server that had a controlling terminal at start
 * and has none now got it because its terminal hung up, and must stop in order (its log
 * output has nowhere to go); otherwise SIGHUP is an operator's `kill -HUP` (or systemd's
 * `ExecReload`) asking for a reload.
 */
export class HangupDetector {
  private readonly startedOnTerminal = hasControllingTerminal();

  /** True when the SIGHUP just received means the terminal is gone. */
  terminalLost(): boolean {
    return this.startedOnTerminal && !hasControllingTerminal();
  }
}
