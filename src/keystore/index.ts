// Public surface of the EncryptedFsV1 keystore (docs/keystore.md).

export * from './keystore-error.ts';
export * from './roles.ts';
export { DEFAULT_ITERATIONS, MAINNET_MIN_ITERATIONS, MAX_ITERATIONS } from './kdf.ts';
export { FORMAT_VERSION, keyFileLength, parseKeyFile, sealKeyFile, unsealKeyFile, type KeyFileHeader, type ParsedKeyFile, type Protection, type SealInput } from './key-file.ts';
export * from './public-key-file.ts';
export { readPassphrase, checkPassphrasePolicy, MAINNET_MIN_PASSPHRASE_CHARS, type PassphraseSource } from './passphrase.ts';
export { KEY_FILE_MODE, KEYSTORE_DIR_MODE, PUBLIC_FILE_MODE, strictPermissions } from './permissions.ts';
export { scanKeystore, type KeystoreProblem, type KeystoreScan, type ScannedKeyFile, type ScannedPublicFile } from './scan.ts';
export { UnlockedKeystore, type UnlockedKeyInfo } from './unlocked-keystore.ts';
export { openIdentityKey, openKeystore, type OpenKeystoreOptions } from './open.ts';
export { generateKeystore, type GeneratedKey, type GeneratedKeystore, type GenerateKeystoreOptions } from './generate.ts';
export { unlockMany, unlockManySettled, type UnlockEntry, type UnlockManyOptions, type UnlockOutcome } from './unlock-many.ts';
export { KdfPool } from './kdf-pool.ts';
export { createEncryptedFsSigner, type EncryptedFsSignerOptions } from './encrypted-fs-signer.ts';
