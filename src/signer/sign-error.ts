// SignError: the one error type every ValidatorSigner throws. Its codes are the
// remote protocol's error codes too. A SignError never carries key material:
// messages are built from validator ids, kinds, views and fixed text only.

import { QbindError } from '../errors.ts';

export type SignErrorCode =
  | 'INVALID_REQUEST' // malformed preimage, kind/tag mismatch, wrong chain or validator, bad suite
  | 'UNAUTHORIZED' // client not allowed to sign for that validator
  | 'DOUBLE_SIGN_REFUSED' // conflicts with something already signed
  | 'RATE_LIMITED'
  | 'BACKEND_FAILURE' // key store, HSM or protection store failed
  | 'UNAVAILABLE' // remote signer unreachable, timed out or closed
  | 'SIGNER_CLOSED';

/** Order is the remote wire format's error status numbering (index + 1): append only. */
export const SIGN_ERROR_CODES: readonly SignErrorCode[] = [
  'INVALID_REQUEST', 'UNAUTHORIZED', 'DOUBLE_SIGN_REFUSED', 'RATE_LIMITED', 'BACKEND_FAILURE', 'UNAVAILABLE', 'SIGNER_CLOSED',
];

export class SignError extends QbindError {
  declare readonly code: SignErrorCode;

  constructor(code: SignErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
