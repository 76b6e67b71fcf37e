// Schema version and the meta-table check both stores run when they open: a
// store written by a newer version, or a database that is not a protection
// store, is refused (fail closed, never started empty).

import { ProtectionError } from './errors.ts';

export const PROTECTION_SCHEMA_VERSION = 1;
export const PROTECTION_FORMAT = 'qbind-protection';

export const TABLE_META = 'qbind_protection_meta';
export const TABLE_SCOPES = 'qbind_protection_scopes';
export const TABLE_SLOTS = 'qbind_protection_slots';
export const TABLE_SIGNATURES = 'qbind_protection_signatures';

/** Meta rows of a new store. */
export function initialMeta(): Array<[string, string]> {
  return [
    ['format', PROTECTION_FORMAT],
    ['schema_version', String(PROTECTION_SCHEMA_VERSION)],
    ['created_at', new Date().toISOString()],
  ];
}

/** Checks the meta rows of an existing store (null: there is no meta table). */
export function checkMeta(meta: ReadonlyMap<string, string> | null, tables: readonly string[], description: string): void {
  if (meta === null) {
    if (tables.length === 0) {
      throw new ProtectionError('STORE_FOREIGN', `${description} is an empty database, not a qbind protection store (refusing to start with no protection state)`);
    }
    throw new ProtectionError('STORE_FOREIGN', `${description} is not a qbind protection store (no ${TABLE_META} table; found ${tables.slice(0, 5).join(', ')})`);
  }
  if (meta.get('format') !== PROTECTION_FORMAT) {
    throw new ProtectionError('STORE_CORRUPT', `${description}: meta format is '${meta.get('format') ?? '(missing)'}', expected '${PROTECTION_FORMAT}'`);
  }
  const text = meta.get('schema_version') ?? '';
  if (!/^[1-9][0-9]{0,8}$/.test(text)) {
    throw new ProtectionError('STORE_CORRUPT', `${description}: meta schema_version '${text}' is not a version number`);
  }
  const version = Number(text);
  if (version > PROTECTION_SCHEMA_VERSION) {
    throw new ProtectionError('STORE_VERSION_TOO_NEW', `${description} has schema version ${version}; this build reads up to ${PROTECTION_SCHEMA_VERSION} (upgrade qbind-signer, never downgrade over a newer store)`);
  }
  for (const t of [TABLE_SCOPES, TABLE_SLOTS, TABLE_SIGNATURES]) {
    if (!tables.includes(t)) throw new ProtectionError('STORE_CORRUPT', `${description}: table ${t} is missing`);
  }
}
