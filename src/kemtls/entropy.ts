// Where the handshake gets its randomness and its encapsulations. Production
// uses node:crypto; the deterministic test vector injects fixed randomness
// (and an encapsulation with a fixed message, computed by an independent
// ML-KEM implementation in the test) through this same interface.

import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { encapsulate, type Encapsulation, type KemKeyPair } from '../crypto/kem.ts';
import { exportPublicKeyBytes } from '../crypto/key-encoding.ts';

export interface KemtlsEntropy {
  /** `n` fresh random bytes (the hello randoms). */
  random(n: number): Buffer;
  /** A fresh ML-KEM-768 ephemeral key pair (client side). */
  ephemeralKey(): KemKeyPair;
  /** Encapsulation to a public key (raw FIPS 203 bytes or an imported KeyObject). */
  encapsulate(publicKey: KeyObject | Uint8Array): Encapsulation;
}

/** node:crypto randomness and ML-KEM (OpenSSL). */
export const systemEntropy: KemtlsEntropy = Object.freeze({
  random: (n: number): Buffer => randomBytes(n),
  ephemeralKey: (): KemKeyPair => {
    // generateKeyPairSync is ~5x faster than generating a seed and importing it
    // (crypto/kem.ts generateKemKey); an ephemeral key is never stored.
    const { privateKey } = generateKeyPairSync('ml-kem-768');
    const publicKeyObject = createPublicKey(privateKey);
    return { privateKey, publicKeyObject, publicKey: exportPublicKeyBytes('ml-kem-768', publicKeyObject) };
  },
  encapsulate: (publicKey: KeyObject | Uint8Array): Encapsulation => encapsulate(publicKey),
});
