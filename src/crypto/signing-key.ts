// Signing keys of every signature suite: generate, import, export, sign and
// verify, all through node:crypto (OpenSSL). ML-DSA signs the preimage itself
// with an empty context (FIPS 204 pure mode, hedged); Ed25519 signs it directly;
// ECDSA signs SHA-256(preimage) and returns r||s with low S, as Cosmos chains expect.

import { createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { CryptoError } from './crypto-error.ts';
import { assertKeyObject, exportPrivateKeyBytes, exportPublicKeyBytes, importPrivateKeyBytes, importPublicKeyBytes } from './key-encoding.ts';
import { isHighS, normalizeLowS } from './ecdsa-low-s.ts';
import type { SignatureSuite } from './suites.ts';

export interface SigningKeyPair {
  readonly suite: SignatureSuite;
  readonly privateKey: KeyObject;
  readonly publicKeyObject: KeyObject;
  /** Raw public key (see docs/crypto.md). */
  readonly publicKey: Buffer;
}

/** Pairs a private KeyObject with its suite; refuses a key of another algorithm or curve (BAD_KEY_ENCODING). */
export function signingKeyFromPrivate(suite: SignatureSuite, privateKey: KeyObject): SigningKeyPair {
  assertKeyObject(suite.name, privateKey, 'private');
  const publicKeyObject = createPublicKey(privateKey);
  return { suite, privateKey, publicKeyObject, publicKey: exportPublicKeyBytes(suite.name, publicKeyObject) };
}

/** Imports a private key from its stored form (seed or scalar), checking its size. */
export function importSigningKey(suite: SignatureSuite, privateBytes: Uint8Array): SigningKeyPair {
  return signingKeyFromPrivate(suite, importPrivateKeyBytes(suite.name, privateBytes));
}

/** Generates a key from fresh randomness, keeping the seed form so it can be stored. */
export function generateSigningKey(suite: SignatureSuite): SigningKeyPair {
  for (;;) {
    const secret = randomBytes(suite.privateKeyBytes);
    try {
      return importSigningKey(suite, secret);
    } catch (err) {
      // An ECDSA scalar >= n has probability ~2^-128; draw again.
      if (!(err instanceof CryptoError && err.code === 'BAD_KEY_ENCODING' && suite.family === 'ecdsa')) throw err;
    } finally {
      secret.fill(0);
    }
  }
}

/** The stored form of the private key. The caller must zero it when done. */
export function exportSigningKey(pair: SigningKeyPair): Buffer {
  return exportPrivateKeyBytes(pair.suite.name, pair.privateKey);
}

export function importVerifyKey(suite: SignatureSuite, publicBytes: Uint8Array): KeyObject {
  return importPublicKeyBytes(suite.name, publicBytes);
}

function digestFor(suite: SignatureSuite): string | null {
  return suite.family === 'ecdsa' ? 'sha256' : null;
}

function finish(suite: SignatureSuite, sig: Buffer): Buffer {
  return suite.family === 'ecdsa' ? normalizeLowS(suite.name, sig) : sig;
}

/** Signs on the calling thread. */
export function signSync(pair: SigningKeyPair, message: Uint8Array): Buffer {
  const sig = nodeSign(digestFor(pair.suite), message, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
  return finish(pair.suite, sig);
}

/** Signs on libuv's thread pool, so concurrent calls use every core. */
export function signAsync(pair: SigningKeyPair, message: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    nodeSign(digestFor(pair.suite), message, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }, (err, sig) => {
      if (err) reject(err);
      else resolve(finish(pair.suite, sig));
    });
  });
}

/**
 * Verifies a signature. Returns false for a wrong signature of the right size;
 * a public key of the wrong size throws. secp256k1 signatures with high S are
 * rejected (malleable form).
 */
export function verifySignature(suite: SignatureSuite, publicKey: KeyObject | Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = publicKey instanceof Uint8Array ? importVerifyKey(suite, publicKey) : publicKey;
  // A KeyObject (public, or private as node:crypto also accepts) must be of the suite's algorithm.
  if (!(publicKey instanceof Uint8Array)) assertKeyObject(suite.name, key, key.type === 'private' ? 'private' : 'public');
  if (signature.length !== suite.signatureBytes) return false;
  if (suite.name === 'secp256k1' && isHighS(suite.name, signature)) return false;
  return nodeVerify(digestFor(suite), message, { key, dsaEncoding: 'ieee-p1363' }, signature);
}
