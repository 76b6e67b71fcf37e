// Public surface of the double-sign protection module (docs/protection.md).

export * from './errors.ts';
export * from './records.ts';
export * from './policy.ts';
export { PROTECTION_SCHEMA_VERSION } from './schema.ts';
export { BatchedProtectionStore, SIGNATURE_FLUSH_MS, type ExportFilter, type ImportSummary, type ProtectionStore, type StoreBackend } from './store.ts';
export { SqliteProtectionStore, type SqliteStoreOptions } from './sqlite-store.ts';
export { PostgresProtectionStore, type PostgresStoreOptions } from './postgres-store.ts';
export * from './open-store.ts';
export * from './protected-signer.ts';
export * from './interchange.ts';
export { decisionSeconds, doubleSignRefused } from './metrics.ts';
