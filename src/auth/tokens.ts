import { createHash, randomBytes } from 'node:crypto';

/**
 * Login tokens: 256 random bits, given to the client once; the store keeps only their SHA-256,
 * so a stolen database does not let anyone log in.
 */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
