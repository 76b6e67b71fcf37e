// HsmError: every failure of the PKCS#11 layer, the hsm.toml loader and the
// qbind-hsm tool, with a stable code per cause. Messages name the library,
// token, slot, key label, environment variable and PKCS#11 return code
// (CKR_*), never a PIN or key bytes. docs/hsm.md lists the codes.

import { QbindError } from '../errors.ts';

export type HsmErrorCode =
  | 'HSM_CONFIG_INVALID' // hsm.toml unreadable, malformed or missing a field
  | 'HSM_PIN_MISSING' // the environment variable named by the config is unset or empty
  | 'HSM_LIBRARY_LOAD' // the PKCS#11 library could not be loaded or initialized
  | 'HSM_TOKEN_NOT_FOUND' // no token with that label / slot
  | 'HSM_LOGIN_FAILED' // wrong PIN, locked PIN, or login refused
  | 'HSM_KEY_NOT_FOUND' // no key with that label
  | 'HSM_KEY_AMBIGUOUS' // more than one key with that label
  | 'HSM_KEY_EXISTS' // keygen/import onto a label already used
  | 'HSM_KEY_UNSUPPORTED' // key type or attributes this signer cannot use
  | 'HSM_KEY_MISMATCH' // the token's public key is not the one expected
  | 'HSM_MECHANISM_UNSUPPORTED' // the token does not offer the mechanism
  | 'HSM_SELF_TEST_FAILED' // a probe signature did not verify
  | 'HSM_SESSION' // session/login lost and not recovered
  | 'HSM_OPERATION_FAILED' // any other PKCS#11 error
  | 'HSM_NOT_CONNECTED' // provider used before connect() or after close()
  | 'HSM_BACKUP_REFUSED' // the token refused to wrap a key
  | 'HSM_MIGRATE_FAILED'; // keystore import could not complete

export class HsmError extends QbindError {
  declare readonly code: HsmErrorCode;
  /** The PKCS#11 return value name (CKR_*) when the token returned one. */
  readonly ckr: string | undefined;

  constructor(code: HsmErrorCode, message: string, options?: { cause?: unknown; ckr?: string }) {
    super(code, message, options);
    this.ckr = options?.ckr;
  }
}
