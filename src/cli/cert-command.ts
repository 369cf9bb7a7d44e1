import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkTlsMaterial } from '../net/tls';
import { commandName } from './command-name';

/**
 * `switchboard cert --out DIR [--days N] [--host NAME...]`: a self-signed certificate and key for
 * development (DIR/cert.pem, DIR/key.pem mode 0600), made by the `openssl` command: it is on
 * every Linux that runs a server, so the project needs no certificate library (and its
 * dependency tree) for a development convenience. Clients trust it with `connect --tls --ca
 * DIR/cert.pem`.
 */

export const DEFAULT_CERT_DAYS = 365;
export const DEFAULT_CERT_HOSTS = ['localhost', '127.0.0.1', '::1'];
const MAX_DAYS = 3650;

/** DNS names as certificates carry them (a leading `*.` wildcard allowed). */
const DNS_NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface CertOptions {
  outDir: string;
  days: number;
  /** Names and addresses the certificate is valid for; the first is its common name. */
  hosts: string[];
}

/** Parses the arguments after `cert`; throws with a message for the user. */
export function parseCertArgs(argv: string[], cwd: string): CertOptions {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, days: { type: 'string' }, host: { type: 'string', multiple: true } } });
  if (!values.out) throw new Error('cert needs --out DIR');
  const days = values.days === undefined ? DEFAULT_CERT_DAYS : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new Error(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  const extra = (values.host ?? []).flatMap((h) => h.split(',')).map((h) => h.trim()).filter(Boolean);
  for (const h of extra) if (!net.isIP(h) && !DNS_NAME.test(h)) throw new Error(`--host "${h}" is neither an IP address nor a DNS name`);
  return { outDir: path.resolve(cwd, values.out), days, hosts: [...new Set([...extra, ...DEFAULT_CERT_HOSTS])] };
}

/** The `[ext]` section of the request: a server-only leaf (not a CA) for `hosts`. */
function opensslConfig(hosts: string[]): string {
  const san = hosts.map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(', ');
  return [
    '[req]',
    'distinguished_name = dn',
    'x509_extensions = ext',
    'prompt = no',
    '[dn]',
    `CN = ${hosts[0]}`,
    'O = Switchboard development certificate',
    '[ext]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${san}`,
    'subjectKeyIdentifier = hash',
    '',
  ].join('\n');
}

/**
 * Makes the pair (ECDSA P-256, SHA-256) and writes it to `outDir`, each file replaced whole
 * (written aside, then renamed) so a server reloading on SIGHUP never reads half a file.
 * Returns the certificate's SHA-256 fingerprint.
 */
export function makeSelfSignedCert({ outDir, days, hosts }: CertOptions): { certFile: string; keyFile: string; fingerprint256: string; validTo: string } {
  const work = fs.mkdtempSync(path.join(fs.realpathSync(requireDir(outDir)), '.cert-'));
  try {
    fs.writeFileSync(path.join(work, 'openssl.cnf'), opensslConfig(hosts));
    const run = spawnSync(
      'openssl',
      ['req', '-x509', '-config', 'openssl.cnf', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-sha256', '-nodes', '-days', String(days), '-keyout', 'key.pem', '-out', 'cert.pem'],
      { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 },
    );
    if (run.error) {
      const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(missing ? 'switchboard cert needs the openssl command (Debian/Ubuntu: apt-get install openssl)' : `openssl failed: ${run.error.message}`);
    }
    if (run.status !== 0) throw new Error(`openssl failed (exit ${run.status}): ${run.stderr.trim()}`);
    const material = { cert: fs.readFileSync(path.join(work, 'cert.pem'), 'utf8'), key: fs.readFileSync(path.join(work, 'key.pem'), 'utf8') };
    const info = checkTlsMaterial(material);
    const certFile = path.join(outDir, 'cert.pem');
    const keyFile = path.join(outDir, 'key.pem');
    replaceFile(keyFile, material.key, 0o600);
    replaceFile(certFile, material.cert, 0o644);
    return { certFile, keyFile, fingerprint256: info.fingerprint256, validTo: info.validTo };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function requireDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function replaceFile(file: string, text: string, mode: number): void {
  const aside = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  // Created with its final mode: the key is never readable by others, not even for a moment.
  fs.writeFileSync(aside, text, { mode, flag: 'wx' });
  fs.chmodSync(aside, mode);
  fs.renameSync(aside, file);
}

/** Runs `switchboard cert`; prints what it wrote and how to use it. */
export function runCert(argv: string[]): number {
  const options = parseCertArgs(argv, process.cwd());
  const made = makeSelfSignedCert(options);
  process.stdout.write(
    [
      `wrote ${made.certFile}`,
      `wrote ${made.keyFile} (mode 0600)`,
      `self-signed for ${options.hosts.join(', ')}; valid until ${made.validTo}`,
      `SHA-256 fingerprint ${made.fingerprint256}`,
      `serve:   ${commandName()} serve --tls-port 4443 --tls-cert ${made.certFile} --tls-key ${made.keyFile}`,
      `connect: ${commandName()} connect 127.0.0.1:4443 --tls --ca ${made.certFile}`,
      '',
    ].join('\n'),
  );
  return 0;
}
