// ML-KEM-768 (FIPS 203) key pairs, encapsulation and decapsulation through
// node:crypto. Used for P2P identity keys and the KEMTLS channel.

import { createPublicKey, decapsulate as nodeDecapsulate, encapsulate as nodeEncapsulate, randomBytes, type KeyObject } from 'node:crypto';
import { CryptoError } from './crypto-error.ts';
import { assertKeyObject, exportPrivateKeyBytes, exportPublicKeyBytes, importPrivateKeyBytes, importPublicKeyBytes } from './key-encoding.ts';
import { ML_KEM_768 } from './suites.ts';

export interface KemKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKeyObject: KeyObject;
  /** Raw FIPS 203 encapsulation key (1184 bytes). */
  readonly publicKey: Buffer;
}

export interface Encapsulation {
  readonly ciphertext: Buffer;
  readonly sharedSecret: Buffer;
}

export function importKemKey(seed: Uint8Array): KemKeyPair {
  const privateKey = importPrivateKeyBytes('ml-kem-768', seed);
  const publicKeyObject = createPublicKey(privateKey);
  return { privateKey, publicKeyObject, publicKey: exportPublicKeyBytes('ml-kem-768', publicKeyObject) };
}

export function generateKemKey(): KemKeyPair {
  const seed = randomBytes(ML_KEM_768.privateKeyBytes);
  try {
    return importKemKey(seed);
  } finally {
    seed.fill(0);
  }
}

/** The 64-byte seed d||z. The caller must zero it when done. */
export function exportKemKey(pair: KemKeyPair): Buffer {
  return exportPrivateKeyBytes('ml-kem-768', pair.privateKey);
}

export function importKemPublicKey(raw: Uint8Array): KeyObject {
  return importPublicKeyBytes('ml-kem-768', raw);
}

export function encapsulate(publicKey: KeyObject | Uint8Array): Encapsulation {
  const key = publicKey instanceof Uint8Array ? importKemPublicKey(publicKey) : publicKey;
  if (!(publicKey instanceof Uint8Array)) assertKeyObject('ml-kem-768', key, key.type === 'private' ? 'private' : 'public');
  const { ciphertext, sharedKey } = nodeEncapsulate(key);
  return { ciphertext, sharedSecret: sharedKey };
}

export function decapsulate(privateKey: KeyObject, ciphertext: Uint8Array): Buffer {
  assertKeyObject('ml-kem-768', privateKey, 'private');
  if (ciphertext.length !== ML_KEM_768.ciphertextBytes) {
    throw new CryptoError('BAD_CIPHERTEXT', `ML-KEM-768 ciphertext must be ${ML_KEM_768.ciphertextBytes} bytes, got ${ciphertext.length}`);
  }
  return nodeDecapsulate(privateKey, ciphertext);
}
