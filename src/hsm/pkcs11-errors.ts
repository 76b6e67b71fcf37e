// What a PKCS#11 error means for us: the CKR_* name of a thrown pkcs11js
// error, and whether it is a lost session or login (recoverable by reopening
// sessions and logging in again), a stale object handle (recoverable by
// finding the key again) or anything else (a runtime failure of the token).

import { HsmError, type HsmErrorCode } from './hsm-error.ts';
import { returnValueName } from './pkcs11-constants.ts';

export type Pkcs11FailureKind = 'session' | 'stale-handle' | 'runtime';

const SESSION_LOST = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_OPERATION_ACTIVE',
]);

const STALE_HANDLE = new Set(['CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID']);

/** The CKR_* name carried by a pkcs11js error, if it is one. */
export function ckrOf(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (/^CKR_[A-Z0-9_]+$/.test(err.message)) return err.message;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' && code > 0 && err.name === 'Pkcs11Error') return returnValueName(code);
  return undefined;
}

export function failureKind(err: unknown): Pkcs11FailureKind {
  const ckr = ckrOf(err);
  if (ckr && SESSION_LOST.has(ckr)) return 'session';
  if (ckr && STALE_HANDLE.has(ckr)) return 'stale-handle';
  return 'runtime';
}

/**
 * Wraps any error thrown by a PKCS#11 call into an HsmError that says what
 * we were doing. HsmErrors pass through unchanged.
 */
export function hsmErrorFrom(err: unknown, doing: string, code: HsmErrorCode = 'HSM_OPERATION_FAILED'): HsmError {
  if (err instanceof HsmError) return err;
  const ckr = ckrOf(err);
  const detail = ckr ?? (err instanceof Error ? err.message : String(err));
  const kind = ckr ? failureKind(err) : 'runtime';
  const finalCode: HsmErrorCode = kind === 'session' && code === 'HSM_OPERATION_FAILED' ? 'HSM_SESSION' : code;
  return new HsmError(finalCode, `${doing} failed: ${detail}`, { cause: err, ckr });
}
