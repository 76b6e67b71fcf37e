// Public surface of the HSM module (docs/hsm.md).

export * from './hsm-error.ts';
export { createHsmSigner, connectHsm, HsmPkcs11Signer, type CreateHsmSignerOptions, type ConnectHsmOptions, type HsmPkcs11SignerOptions } from './hsm-signer.ts';
export { Pkcs11Provider, probeMessage, type HsmKeyInfo, type HsmKeyRef, type Pkcs11ProviderOptions, type TokenStatus } from './provider.ts';
export { loadHsmConfig, parseHsmConfig, parseMechanism, readPin, renderFlatConfig, signingKeyOf, type HsmConfig, type HsmKeyConfig } from './config.ts';
export { HSM_KEY_TYPES, parseKeyType, type HsmKeyType } from './key-types.ts';
export { HSM_SIGN_ERROR_KINDS, type HsmSignErrorKind } from './hsm-metrics.ts';
export { hsmStatus, statusText, type StatusReport } from './status.ts';
export { backupToken, BACKUP_FORMAT, BACKUP_MANIFEST, type BackupManifest } from './backup.ts';
export { migrateKeystoreKey, type MigrateOptions, type MigrateResult } from './migrate.ts';
export { initHsmConfig, type InitOptions } from './init-config.ts';
export type { Pkcs11Api } from './pkcs11-api.ts';
