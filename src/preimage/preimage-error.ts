// Errors from building or parsing signing preimages.

import { QbindError } from '../errors.ts';

export type PreimageErrorCode = 'UNKNOWN_TAG' | 'TRUNCATED' | 'TRAILING_BYTES' | 'FIELD_RANGE' | 'INCONSISTENT';

export class PreimageError extends QbindError {
  declare readonly code: PreimageErrorCode;

  constructor(code: PreimageErrorCode, message: string) {
    super(code, message);
  }
}
