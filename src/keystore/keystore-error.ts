// Errors of the EncryptedFsV1 keystore and qbind-keygen. Each bad input has its
// own stable code (docs/keystore.md lists them); messages name files, roles,
// validator ids and modes, never a passphrase or key bytes.

import { QbindError } from '../errors.ts';

export type KeystoreErrorCode =
  // passphrase
  | 'PASSPHRASE_SOURCE'
  | 'PASSPHRASE_ENV_UNSET'
  | 'PASSPHRASE_EMPTY'
  | 'PASSPHRASE_FILE_NOT_FOUND'
  | 'PASSPHRASE_FILE_UNREADABLE'
  | 'PASSPHRASE_FILE_PERMISSIONS'
  | 'PASSPHRASE_NOT_UTF8'
  | 'PASSPHRASE_TOO_SHORT'
  | 'PASSPHRASE_REQUIRED'
  | 'WRONG_PASSPHRASE'
  // key files
  | 'KEY_FILE_NOT_KEYSTORE'
  | 'KEY_FILE_UNSUPPORTED_VERSION'
  | 'KEY_FILE_TRUNCATED'
  | 'KEY_FILE_CORRUPT'
  | 'KEY_FILE_TAMPERED'
  | 'KEY_FILE_NOT_REGULAR'
  | 'KEY_FILE_UNREADABLE'
  | 'KEY_FILE_PERMISSIONS'
  | 'KEY_FILE_WEAK_KDF'
  | 'KEY_FILE_MISSING'
  | 'KEY_FILE_EXISTS'
  | 'KEY_ROLE_MISMATCH'
  | 'KEY_ROLE_UNSUPPORTED'
  | 'PLAINTEXT_KEY_REFUSED'
  | 'PUBLIC_KEY_FILE_INVALID'
  | 'PUBLIC_KEY_STALE'
  // keystore folder
  | 'KEYSTORE_NOT_FOUND'
  | 'KEYSTORE_NOT_A_DIRECTORY'
  | 'KEYSTORE_EMPTY'
  | 'KEYSTORE_DIR_PERMISSIONS'
  | 'KEYSTORE_VALIDATOR_MISMATCH'
  | 'KEYSTORE_CLOSED'
  | 'OUTPUT_NOT_WRITABLE'
  | 'OUTPUT_NOT_A_DIRECTORY'
  // arguments and internals
  | 'BAD_KEY_ROLE'
  | 'BAD_VALIDATOR_ID'
  | 'BAD_ITERATIONS'
  | 'KEY_NOT_LOADED'
  | 'CHAIN_ID_MISMATCH'
  | 'KDF_WORKER_FAILED';

export class KeystoreError extends QbindError {
  declare readonly code: KeystoreErrorCode;

  constructor(code: KeystoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
