// openProtectionStore(location): a file path or sqlite:PATH opens the embedded
// SQLite store (the default), a postgres:// or postgresql:// URL the shared
// PostgreSQL store. Anything else is refused with STORE_LOCATION_INVALID.

import { ProtectionError } from './errors.ts';
import { PostgresProtectionStore, redactUrl } from './postgres-store.ts';
import { SqliteProtectionStore } from './sqlite-store.ts';
import type { ProtectionStore } from './store.ts';

export interface OpenProtectionStoreOptions {
  /**
   * Create an empty store when there is none (default false). A signer must
   * never start with empty protection state by accident: pass true only on a
   * validator's first start, or when importing its state on a new machine.
   */
  create?: boolean;
  /** Largest group-commit batch (default 1024). */
  maxBatch?: number;
}

export type StoreLocation = { backend: 'sqlite'; path: string } | { backend: 'postgres'; url: string };

export function parseStoreLocation(location: string): StoreLocation {
  const text = location.trim();
  if (/^postgres(ql)?:\/\//i.test(text)) return { backend: 'postgres', url: text };
  if (/^sqlite:/i.test(text)) {
    const path = text.slice('sqlite:'.length);
    if (path === '') throw new ProtectionError('STORE_LOCATION_INVALID', `store location '${location}' names no file after sqlite:`);
    return { backend: 'sqlite', path };
  }
  if (text === '') throw new ProtectionError('STORE_LOCATION_INVALID', 'store location is empty: give a file path, sqlite:PATH or a postgres:// URL');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new ProtectionError('STORE_LOCATION_INVALID', `store location '${redactUrl(text)}' has an unsupported scheme (use a file path, sqlite:PATH, postgres:// or postgresql://)`);
  }
  return { backend: 'sqlite', path: text };
}

export async function openProtectionStore(location: string, options: OpenProtectionStoreOptions = {}): Promise<ProtectionStore> {
  const where = parseStoreLocation(location);
  if (where.backend === 'postgres') return PostgresProtectionStore.open(where.url, options);
  return SqliteProtectionStore.open(where.path, options);
}
