// Short, stable fingerprints of public keys for display, logs and audit lines:
// the first 16 bytes of SHA3-256 over the raw public key, hex.

import { createHash } from 'node:crypto';

export function publicKeyFingerprint(publicKey: Uint8Array): string {
  return createHash('sha3-256').update(publicKey).digest('hex').slice(0, 32);
}
