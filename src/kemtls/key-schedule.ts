// KEMTLS v1 key schedule: the running transcript hash (SHA3-256) and the
// derivations of the chaining key, one-shot handshake keys, Finished keys and
// traffic keys, all with node:crypto HKDF-SHA3-256 and HMAC-SHA3-256.
// See docs/kemtls.md, "Key schedule".

import { createHash, createHmac, hkdfSync, timingSafeEqual, type Hash } from 'node:crypto';

export const PROTOCOL_NAME = 'QBIND-KEMTLS-v1/ML-KEM-768/HKDF-SHA3-256/ChaCha20-Poly1305';
const HASH = 'sha3-256';
const LABEL_PREFIX = 'qkt1 ';
const EMPTY = Buffer.alloc(0);

export const TRAFFIC_KEY_BYTES = 32;
export const TRAFFIC_IV_BYTES = 12;

/** SHA3-256 over everything appended so far; snapshots do not disturb it. */
export class Transcript {
  readonly #hash: Hash = createHash(HASH);

  update(bytes: Uint8Array): this {
    this.#hash.update(bytes);
    return this;
  }

  /** Hash of the transcript so far. */
  snapshot(): Buffer {
    return this.#hash.copy().digest();
  }
}

/** ck0 = SHA3-256(PROTOCOL_NAME). */
export function initialChainingKey(): Buffer {
  return createHash(HASH).update(PROTOCOL_NAME, 'latin1').digest();
}

function info(label: string, context: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(LABEL_PREFIX + label, 'latin1'), context]);
}

/**
 * Mix(ck, ss, label, th, n) = HKDF-SHA3-256(salt = ck, ikm = ss, info = "qkt1 " || label || th, n):
 * the next chaining key (first 32 bytes) followed by the keys of this stage.
 */
export function mixKey(chainingKey: Uint8Array, sharedSecret: Uint8Array, label: string, transcriptHash: Uint8Array, length: number): Buffer {
  return Buffer.from(hkdfSync(HASH, sharedSecret, chainingKey, info(label, transcriptHash), length));
}

/** Derive(ck, label, ctx, n) = HKDF-SHA3-256(salt = empty, ikm = ck, info = "qkt1 " || label || ctx, n). */
export function deriveKey(chainingKey: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  return Buffer.from(hkdfSync(HASH, chainingKey, EMPTY, info(label, context), length));
}

/** HMAC-SHA3-256(key, transcriptHash): a Finished value. */
export function finishedMac(finishedKey: Uint8Array, transcriptHash: Uint8Array): Buffer {
  return createHmac(HASH, finishedKey).update(transcriptHash).digest();
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Key and IV of one direction's record protection. */
export interface DirectionKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

export interface TrafficKeys {
  /** client -> server */
  readonly clientToServer: DirectionKeys;
  /** server -> client */
  readonly serverToClient: DirectionKeys;
}

/** c2s key || c2s iv || s2c key || s2c iv = Derive(ck3, "traffic", th5, 88). */
export function trafficKeys(ck3: Uint8Array, th5: Uint8Array): TrafficKeys {
  const okm = deriveKey(ck3, 'traffic', th5, 2 * (TRAFFIC_KEY_BYTES + TRAFFIC_IV_BYTES));
  const at = (i: number): DirectionKeys => {
    const o = i * (TRAFFIC_KEY_BYTES + TRAFFIC_IV_BYTES);
    return { key: okm.subarray(o, o + TRAFFIC_KEY_BYTES), iv: okm.subarray(o + TRAFFIC_KEY_BYTES, o + TRAFFIC_KEY_BYTES + TRAFFIC_IV_BYTES) };
  };
  return { clientToServer: at(0), serverToClient: at(1) };
}
