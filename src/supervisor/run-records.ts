import fs from 'node:fs';
import path from 'node:path';
import type { UpgradeResult } from './upgrade';

/**
 * Files in `<data-dir>/run/` through which `switchboard upgrade` finds and follows a running
 * server: `supervisor.pid` (the supervisor's pid, written at start, removed at an orderly stop),
 * `upgrade.json` (the last upgrade's result, numbered by `seq`), and per request
 * `upgrade-requests/<nonce>` (left by the command before its SIGUSR2, taken by the supervisor)
 * answered by `upgrade-results/<nonce>.json`, so that two commands at once each get their own
 * answer (one upgrade, one refusal). All are the owner's alone (the server's umask).
 */

/** A recorded upgrade result: `seq` counts results (refusals included) since the file began. */
export type UpgradeRecord = UpgradeResult & { seq: number; finishedAt: number };

const pidPath = (dataDir: string): string => path.join(dataDir, 'run', 'supervisor.pid');
const upgradePath = (dataDir: string): string => path.join(dataDir, 'run', 'upgrade.json');

export function writePidRecord(dataDir: string, pid: number): void {
  fs.writeFileSync(pidPath(dataDir), `${pid}\n`);
}

export function removePidRecord(dataDir: string): void {
  fs.rmSync(pidPath(dataDir), { force: true });
}

/** The recorded supervisor pid, or null when there is none (no server ran here, or it stopped). */
export function readPidRecord(dataDir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidPath(dataDir), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The last recorded upgrade result, or null. */
export function readUpgradeRecord(dataDir: string): UpgradeRecord | null {
  try {
    return JSON.parse(fs.readFileSync(upgradePath(dataDir), 'utf8')) as UpgradeRecord;
  } catch {
    return null;
  }
}

/** Records a result under the next `seq` (written whole: a reader never sees half a file). */
export function writeUpgradeRecord(dataDir: string, result: UpgradeResult): void {
  const seq = (readUpgradeRecord(dataDir)?.seq ?? 0) + 1;
  const tmp = `${upgradePath(dataDir)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...result, seq, finishedAt: Date.now() }) + '\n');
  fs.renameSync(tmp, upgradePath(dataDir));
}

const requestsDir = (dataDir: string): string => path.join(dataDir, 'run', 'upgrade-requests');
const resultsDir = (dataDir: string): string => path.join(dataDir, 'run', 'upgrade-results');

/** The command's side: leaves a request to be answered under `nonce`. */
export function fileUpgradeRequest(dataDir: string, nonce: string): void {
  fs.mkdirSync(requestsDir(dataDir), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(requestsDir(dataDir), nonce), '');
}

/** The supervisor's side, on SIGUSR2: the requests waiting (taken: each is answered once). */
export function takeUpgradeRequests(dataDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(requestsDir(dataDir)).filter((n) => /^[A-Za-z0-9-]{1,64}$/.test(n));
  } catch {
    return [];
  }
  for (const n of names) fs.rmSync(path.join(requestsDir(dataDir), n), { force: true });
  return names;
}

/** The supervisor's side: the answer to each request in `nonces`, and the record of the last one. */
export function answerUpgradeRequests(dataDir: string, nonces: string[], result: UpgradeResult): void {
  writeUpgradeRecord(dataDir, result);
  if (nonces.length === 0) return;
  fs.mkdirSync(resultsDir(dataDir), { recursive: true, mode: 0o700 });
  for (const n of nonces) {
    const file = path.join(resultsDir(dataDir), `${n}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(result) + '\n');
    fs.renameSync(`${file}.tmp`, file);
  }
}

/** The command's side: its answer (the file is removed once read), or null while there is none. */
export function takeUpgradeAnswer(dataDir: string, nonce: string): UpgradeResult | null {
  const file = path.join(resultsDir(dataDir), `${nonce}.json`);
  try {
    const result = JSON.parse(fs.readFileSync(file, 'utf8')) as UpgradeResult;
    fs.rmSync(file, { force: true });
    return result;
  } catch {
    return null;
  }
}
