// Public surface of the crypto core.

export * from './suites.ts';
export * from './crypto-error.ts';
export * from './signing-key.ts';
export * from './kem.ts';
export * from './fingerprint.ts';
export { exportPrivateKeyBytes, exportPublicKeyBytes, importPrivateKeyBytes, importPublicKeyBytes, privateKeyLength, publicKeyLength, type KeyAlgorithm } from './key-encoding.ts';
