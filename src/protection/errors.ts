// ProtectionError: what the double-sign protection store throws when it cannot
// be trusted (missing, corrupted, unreadable, newer schema, unsafe settings) or
// when an interchange file is invalid. The signer turns any of these into
// SignError BACKEND_FAILURE and refuses to sign (fail closed).

import { QbindError } from '../errors.ts';

export type ProtectionErrorCode =
  | 'STORE_LOCATION_INVALID' // not a path, sqlite:PATH, postgres:// or postgresql:// URL
  | 'STORE_MISSING' // no store there and creation was not asked for
  | 'STORE_UNREADABLE' // cannot be opened, read or written (permissions, a folder, I/O)
  | 'STORE_CORRUPT' // not a readable database, failed integrity check, bad row checksum
  | 'STORE_FOREIGN' // a database, but not a qbind protection store
  | 'STORE_VERSION_TOO_NEW' // written by a newer schema version than this build knows
  | 'STORE_UNSAFE' // the database would not make commits durable (e.g. PostgreSQL fsync=off)
  | 'STORE_FAILURE' // a transaction failed (I/O error, lost connection, lock timeout)
  | 'STORE_CLOSED'
  | 'INTERCHANGE_INVALID' // interchange JSON does not follow docs/protection.md
  | 'INTERCHANGE_VERSION'; // interchange format version this build does not read

export class ProtectionError extends QbindError {
  declare readonly code: ProtectionErrorCode;

  constructor(code: ProtectionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
