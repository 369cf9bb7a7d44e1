import crypto from 'node:crypto';
import fs from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';

/**
 * The server's TLS: one policy (TLS 1.2 or newer, forward-secret AEAD ciphers only), the
 * certificate files checked before use, and the server side of a handshake on a socket that
 * was accepted elsewhere (the supervisor accepts, a worker handshakes).
 */

export const TLS_MIN_VERSION = 'TLSv1.2';

/**
 * Node's default list minus what is weak or needs extra setup: TLS 1.3's three suites, and for
 * TLS 1.2 only ephemeral ECDH (forward secrecy) with AES-GCM or ChaCha20-Poly1305. Left out:
 * every CBC suite (Lucky13-style padding oracles), static-RSA key exchange (no forward
 * secrecy), and finite-field DHE (slow, and Node has no DH parameters unless given some).
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** A certificate chain and its private key, PEM text: what travels from supervisor to workers. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** What an operator wants to see about the certificate in use. */
export interface TlsCertInfo {
  /** SHA-256 fingerprint of the leaf certificate, `AA:BB:...`. */
  fingerprint256: string;
  subject: string;
  subjectAltName: string | null;
  validFrom: string;
  validTo: string;
  expired: boolean;
}

export class TlsFilesError extends Error {
  readonly code = 'TLS_FILES_INVALID';
}

/**
 * Reads and checks a certificate/key pair: both parse, the key matches the certificate, and
 * Node accepts them for a server context under our policy. Throws TlsFilesError saying which.
 */
export function readTlsFiles(certFile: string, keyFile: string): { material: TlsMaterial; info: TlsCertInfo } {
  const material = { cert: readPem(certFile, 'certificate'), key: readPem(keyFile, 'private key') };
  return { material, info: checkTlsMaterial(material, certFile, keyFile) };
}

/** Checks PEM text as readTlsFiles does; the names only label the errors. */
export function checkTlsMaterial(material: TlsMaterial, certName = 'certificate', keyName = 'private key'): TlsCertInfo {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(material.cert);
  } catch (err) {
    throw new TlsFilesError(`${certName} is not a PEM certificate (${(err as Error).message})`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(material.key);
  } catch (err) {
    throw new TlsFilesError(`${keyName} is not an unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) throw new TlsFilesError(`${keyName} does not belong to the certificate in ${certName}`);
  try {
    createServerContext(material);
  } catch (err) {
    throw new TlsFilesError(`${certName} / ${keyName} rejected by TLS: ${(err as Error).message}`);
  }
  return {
    fingerprint256: cert.fingerprint256,
    subject: cert.subject.replace(/\n/g, ', '),
    subjectAltName: cert.subjectAltName ?? null,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    expired: Date.parse(cert.validTo) < Date.now(),
  };
}

function readPem(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TlsFilesError(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A server SecureContext under the policy above. */
export function createServerContext(material: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext({
    cert: material.cert,
    key: material.key,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  });
}

/** Why a handshake did not complete. */
export interface HandshakeFailure {
  reason: 'timeout' | 'error' | 'closed' | 'no-certificate';
  error: Error | null;
  remoteAddress: string | undefined;
}

/**
 * Runs the server side of TLS handshakes on sockets accepted by another process. The context
 * can be replaced at any time (certificate reload): a socket keeps the context it started
 * with, so sessions already open are not touched.
 */
export class TlsAcceptor {
  private context: tls.SecureContext | null = null;
  private readonly pending = new Set<tls.TLSSocket>();

  /** `handshakeTimeoutMs`: changed by a settings reload for the handshakes that start after it. */
  constructor(public handshakeTimeoutMs: number) {}

  /** Uses this pair for handshakes from now on. Throws (keeping the old pair) if it is unusable. */
  setMaterial(material: TlsMaterial): void {
    this.context = createServerContext(material);
  }

  /** Handshakes under way. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Wraps `socket` and handshakes; exactly one of `secured` (the encrypted socket, not yet
   * read from) and `failed` (the socket destroyed) is called.
   */
  accept(socket: net.Socket, secured: (socket: tls.TLSSocket) => void, failed: (failure: HandshakeFailure) => void): void {
    const remoteAddress = socket.remoteAddress;
    if (!this.context) {
      socket.destroy();
      failed({ reason: 'no-certificate', error: null, remoteAddress });
      return;
    }
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.context, requestCert: false });
    this.pending.add(secure);
    let settled = false;
    const fail = (reason: HandshakeFailure['reason'], error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.pending.delete(secure);
      secure.destroy();
      failed({ reason, error, remoteAddress });
    };
    const timer = setTimeout(() => fail('timeout', null), this.handshakeTimeoutMs);
    const onError = (err: Error): void => fail('error', err);
    const onClose = (): void => fail('closed', null);
    secure.on('error', onError);
    secure.once('close', onClose);
    secure.once('secure', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.pending.delete(secure);
      secure.off('error', onError);
      secure.off('close', onClose);
      secured(secure);
    });
  }

  /** Drops every handshake under way (shutdown). */
  destroyPending(): void {
    for (const s of this.pending) s.destroy();
  }
}
