// Signature suites and the KEM suite, with their stable numeric ids and sizes.
// The ids are part of the wire protocol, the keystore format and the audit log:
// never renumber. See docs/crypto.md.

import { CryptoError } from './crypto-error.ts';

export const SUITE_ML_DSA_44 = 100; // SUITE_PQ_RESERVED_1: the only suite for QBIND consensus keys
export const SUITE_ML_DSA_65 = 101;
export const SUITE_ML_DSA_87 = 102;
export const SUITE_ED25519 = 1;
export const SUITE_SECP256K1 = 2;
export const SUITE_P256 = 3;
export const KEM_SUITE_ML_KEM_768 = 200;

export type SignatureSuiteName = 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87' | 'ed25519' | 'secp256k1' | 'p-256';
export type SignatureFamily = 'ml-dsa' | 'eddsa' | 'ecdsa';

export interface SignatureSuite {
  readonly id: number;
  readonly name: SignatureSuiteName;
  readonly family: SignatureFamily;
  /** True for post-quantum suites; QBIND consensus accepts only these (and only id 100). */
  readonly postQuantum: boolean;
  /** Private key as stored: ML-DSA seed xi, Ed25519 seed, or ECDSA scalar. */
  readonly privateKeyBytes: number;
  /** Raw public key: FIPS 204 pk, Ed25519 point, or compressed SEC1 point. */
  readonly publicKeyBytes: number;
  /** Exact signature length (ECDSA: r||s, each the field size). */
  readonly signatureBytes: number;
}

export const SIGNATURE_SUITES: readonly SignatureSuite[] = Object.freeze([
  { id: SUITE_ML_DSA_44, name: 'ml-dsa-44', family: 'ml-dsa', postQuantum: true, privateKeyBytes: 32, publicKeyBytes: 1312, signatureBytes: 2420 },
  { id: SUITE_ML_DSA_65, name: 'ml-dsa-65', family: 'ml-dsa', postQuantum: true, privateKeyBytes: 32, publicKeyBytes: 1952, signatureBytes: 3309 },
  { id: SUITE_ML_DSA_87, name: 'ml-dsa-87', family: 'ml-dsa', postQuantum: true, privateKeyBytes: 32, publicKeyBytes: 2592, signatureBytes: 4627 },
  { id: SUITE_ED25519, name: 'ed25519', family: 'eddsa', postQuantum: false, privateKeyBytes: 32, publicKeyBytes: 32, signatureBytes: 64 },
  { id: SUITE_SECP256K1, name: 'secp256k1', family: 'ecdsa', postQuantum: false, privateKeyBytes: 32, publicKeyBytes: 33, signatureBytes: 64 },
  { id: SUITE_P256, name: 'p-256', family: 'ecdsa', postQuantum: false, privateKeyBytes: 32, publicKeyBytes: 33, signatureBytes: 64 },
]);

export function suiteById(id: number): SignatureSuite {
  const suite = SIGNATURE_SUITES.find((s) => s.id === id);
  if (!suite) throw new CryptoError('UNKNOWN_SUITE', `unknown signature suite id ${id} (known: ${SIGNATURE_SUITES.map((s) => `${s.id}=${s.name}`).join(', ')})`);
  return suite;
}

export function suiteByName(name: string): SignatureSuite {
  const suite = SIGNATURE_SUITES.find((s) => s.name === name.toLowerCase());
  if (!suite) throw new CryptoError('UNKNOWN_SUITE', `unknown signature suite '${name}' (known: ${SIGNATURE_SUITES.map((s) => s.name).join(', ')})`);
  return suite;
}

export interface KemSuite {
  readonly id: number;
  readonly name: 'ml-kem-768';
  /** FIPS 203 seed d || z. */
  readonly privateKeyBytes: number;
  readonly publicKeyBytes: number;
  readonly ciphertextBytes: number;
  readonly sharedSecretBytes: number;
}

export const ML_KEM_768: KemSuite = Object.freeze({
  id: KEM_SUITE_ML_KEM_768,
  name: 'ml-kem-768',
  privateKeyBytes: 64,
  publicKeyBytes: 1184,
  ciphertextBytes: 1088,
  sharedSecretBytes: 32,
});
