// Passphrase -> keys for EncryptedFsV1: PBKDF2-HMAC-SHA-256 gives a 32-byte
// master secret (the only costly step); HKDF-SHA-256 splits it into the
// ChaCha20-Poly1305 key and a 16-byte passphrase check value, so that a wrong
// passphrase and a modified file get different errors. See docs/keystore.md.

import { hkdfSync, pbkdf2, pbkdf2Sync } from 'node:crypto';
import type { ProfileName } from '../config/profiles.ts';
import { KeystoreError } from './keystore-error.ts';

export const DEFAULT_ITERATIONS = 600_000;
/** Fewest iterations accepted on mainnet, when generating and when opening. */
export const MAINNET_MIN_ITERATIONS = 600_000;
/** Most iterations accepted anywhere (bounds the work a crafted file can cause). */
export const MAX_ITERATIONS = 100_000_000;
export const SALT_BYTES = 32;
export const MASTER_BYTES = 32;
export const CHECK_BYTES = 16;

const INFO_KEY = Buffer.from('QBIND keystore v1 encryption key', 'ascii');
const INFO_CHECK = Buffer.from('QBIND keystore v1 passphrase check', 'ascii');

export interface KdfParams {
  iterations: number;
  salt: Uint8Array;
}

export function checkIterations(iterations: number, profile: ProfileName): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new KeystoreError('BAD_ITERATIONS', `PBKDF2 iterations must be an integer from 1 to ${MAX_ITERATIONS}, got ${iterations}`);
  }
  if (profile === 'mainnet' && iterations < MAINNET_MIN_ITERATIONS) {
    throw new KeystoreError('BAD_ITERATIONS', `mainnet keystores need at least ${MAINNET_MIN_ITERATIONS} PBKDF2 iterations, got ${iterations}`);
  }
}

/** UTF-8 bytes of the passphrase; the caller zeroes them. */
export function passphraseBytes(passphrase: string): Buffer {
  return Buffer.from(passphrase, 'utf8');
}

/** PBKDF2 on the calling thread (worker threads use this). */
export function deriveMasterSync(passphrase: Uint8Array, params: KdfParams): Buffer {
  return pbkdf2Sync(passphrase, params.salt, params.iterations, MASTER_BYTES, 'sha256');
}

/** PBKDF2 on libuv's thread pool. */
export function deriveMaster(passphrase: Uint8Array, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(passphrase, params.salt, params.iterations, MASTER_BYTES, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export interface FileKeys {
  /** ChaCha20-Poly1305 key; zero after use. */
  key: Buffer;
  /** Passphrase check value stored in the header. */
  check: Buffer;
}

/** Splits the PBKDF2 master secret into the cipher key and the check value. */
export function splitMaster(master: Uint8Array): FileKeys {
  const key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), INFO_KEY, 32));
  const check = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), INFO_CHECK, CHECK_BYTES));
  return { key, check };
}
