// Errors raised by the crypto core (bad key sizes, unknown suites, bad encodings).

import { QbindError } from '../errors.ts';

export type CryptoErrorCode =
  | 'UNKNOWN_SUITE'
  | 'BAD_KEY_LENGTH'
  | 'BAD_KEY_ENCODING'
  | 'BAD_SIGNATURE_ENCODING'
  | 'BAD_CIPHERTEXT'
  | 'UNSUPPORTED_RUNTIME';

export class CryptoError extends QbindError {
  declare readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
