import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type LoadInput } from '../config/load';
import { runServe } from '../supervisor/main';
import { PidFileInUse, checkPidFile } from '../supervisor/pid-file';

/** Set in the daemon's environment by its starter: the directory relative paths were given from. */
const DAEMON_CWD_ENV = 'SB_DAEMON_CWD';
/** How long the starter waits for the daemon to serve before it gives up (and stops it). */
const DAEMON_START_TIMEOUT_MS = 120_000;

/** `serve`'s own flags, which are not settings (no config-file key or variable: they say how to run, not what). */
interface ServeFlags {
  daemon: boolean;
  pidFile?: string;
  logFile?: string;
  /** The other arguments: settings for loadConfig. */
  settings: string[];
}

/**
 * `switchboard serve [--daemon --pid-file F --log-file F] [settings]`. With `--daemon` (seed
 * 003's daemon, for hosts without systemd): this process checks the settings and the pid file,
 * starts the server as a detached child in a session of its own (setsid), in `/`, umask 027,
 * stdin from /dev/null and stdout/stderr to the log file, and exits 0 once that server serves
 * and has written its pid file, or 1 with the reason. Relative paths (settings, pid file, log
 * file) mean what they mean from here.
 */
export async function runServeCommand(argv: string[]): Promise<number> {
  const daemonCwd = process.env[DAEMON_CWD_ENV];
  const cwd = daemonCwd ?? process.cwd();
  let flags: ServeFlags;
  let loadInput: LoadInput;
  let config;
  try {
    flags = parseServeFlags(argv, cwd);
    loadInput = { argv: flags.settings, env: withoutDaemonEnv(process.env), cwd };
    config = loadConfig(loadInput);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`switchboard serve: ${err.message}\n`);
    return 2;
  }
  if (daemonCwd !== undefined) return runAsDaemon(config, loadInput, flags);
  if (flags.daemon) return startDaemon(flags, cwd);
  if (flags.logFile) {
    process.stderr.write('switchboard serve: --log-file goes with --daemon (in the foreground the log is on stdout)\n');
    return 2;
  }
  return runServe(config, loadInput, { pidFile: flags.pidFile });
}

function parseServeFlags(argv: string[], cwd: string): ServeFlags {
  const flags: ServeFlags = { daemon: false, settings: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--daemon') {
      if (inline !== undefined) throw new ConfigError('--daemon takes no value');
      flags.daemon = true;
    } else if (name === '--pid-file' || name === '--log-file') {
      const value = inline ?? argv[++i];
      if (!value) throw new ConfigError(`${name} needs a file path`);
      flags[name === '--pid-file' ? 'pidFile' : 'logFile'] = path.resolve(cwd, value);
    } else {
      flags.settings.push(arg);
    }
  }
  if (flags.daemon && (!flags.pidFile || !flags.logFile)) throw new ConfigError('--daemon needs --pid-file FILE and --log-file FILE');
  return flags;
}

function withoutDaemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { [DAEMON_CWD_ENV]: _, ...rest } = env;
  return rest;
}

/** The starter: checks, spawns the daemon, waits for its word, exits. */
async function startDaemon(flags: ServeFlags, cwd: string): Promise<number> {
  try {
    checkPidFile(flags.pidFile!);
  } catch (err) {
    if (!(err instanceof PidFileInUse)) throw err;
    process.stderr.write(`switchboard serve: ${err.message}\n`);
    return 1;
  }
  let log: number;
  try {
    // The log is for the operator and their group to read (umask 027, as the daemon's).
    log = fs.openSync(flags.logFile!, 'a', 0o640);
  } catch (err) {
    process.stderr.write(`switchboard serve: cannot open the log file: ${(err as Error).message}\n`);
    return 1;
  }
  const settings = flags.settings;
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'serve', ...settings, '--pid-file', flags.pidFile!, '--log-file', flags.logFile!], {
    // setsid(): a session and process group of its own, no controlling terminal.
    detached: true,
    cwd: '/',
    stdio: ['ignore', log, log, 'ipc'],
    env: { ...process.env, [DAEMON_CWD_ENV]: cwd },
  });
  fs.closeSync(log);
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(1, `the daemon did not start within ${DAEMON_START_TIMEOUT_MS / 1000} s; stopped it (see ${flags.logFile})`, true), DAEMON_START_TIMEOUT_MS);
    let done = false;
    function finish(code: number, text: string, kill = false): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (kill) child.kill('SIGTERM');
      if (child.connected) child.disconnect();
      child.unref();
      process.stderr.write(text + '\n');
      resolve(code);
    }
    child.on('message', (msg: { type?: string; reason?: string }) => {
      if (msg.type === 'daemon-ready') finish(0, `switchboard: daemon started (pid ${child.pid}; pid file ${flags.pidFile}; log ${flags.logFile})`);
      else if (msg.type === 'daemon-failed') finish(1, `switchboard serve: the daemon could not start: ${msg.reason ?? 'see the log'} (log: ${flags.logFile})`);
    });
    child.on('exit', (code, signal) => finish(1, `switchboard serve: the daemon exited before serving (${signal ?? `code ${code}`}); see ${flags.logFile}`));
    child.on('error', (err) => finish(1, `switchboard serve: cannot start the daemon: ${err.message}`));
  });
}

/** The daemon itself: runs the server, tells its starter when it serves (or why it cannot), and lets it go. */
async function runAsDaemon(config: ReturnType<typeof loadConfig>, loadInput: LoadInput, flags: ServeFlags): Promise<number> {
  // Seed 003's umask; the server narrows it to 077 for what it writes (src/fs/private-files.ts).
  process.umask(0o027);
  const tell = (msg: object): void => {
    if (!process.connected) return;
    process.send?.(msg, () => {
      if (process.connected) process.disconnect();
    });
  };
  return runServe(config, loadInput, {
    pidFile: flags.pidFile,
    ready: () => tell({ type: 'daemon-ready' }),
    failed: (reason) => tell({ type: 'daemon-failed', reason }),
  });
}
