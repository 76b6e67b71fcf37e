// Migration of a key from an EncryptedFsV1 keystore into an HSM (seed 003
// AC-5, `qbind-hsm migrate`): unlock the keystore, import its signing key as
// a sensitive, non-extractable token key, and prove the token signs for the
// keystore's public key. The private key bytes are zeroed once sent; the
// keystore files are left for the operator to destroy after checking.

import type { ProfileName } from '../config/profiles.ts';
import { exportSigningKey, publicKeyFingerprint, verifySignature } from '../crypto/index.ts';
import { openKeystore, type KeyRole } from '../keystore/index.ts';
import { HsmError } from './hsm-error.ts';
import type { HsmKeyType } from './key-types.ts';
import { probeMessage, type HsmKeyInfo, type Pkcs11Provider } from './provider.ts';

export interface MigrateOptions {
  keystoreDir: string;
  passphrase: string | null;
  profile: ProfileName;
  /** Keystore role whose key moves (default consensus; batch-signing is the same key). */
  role?: KeyRole;
  /** Token label for the imported key. */
  label: string;
  /** When given, the keystore must belong to this validator. */
  validatorId?: bigint;
  onWarning?: (message: string) => void;
}

export interface MigrateResult {
  validatorId: bigint;
  role: KeyRole;
  keystoreFingerprint: string;
  key: HsmKeyInfo;
}

export async function migrateKeystoreKey(provider: Pkcs11Provider, options: MigrateOptions): Promise<MigrateResult> {
  const role = options.role ?? 'consensus';
  const keystore = await openKeystore(options.keystoreDir, {
    passphrase: options.passphrase,
    profile: options.profile,
    roles: [role],
    ...(options.validatorId !== undefined ? { validatorId: options.validatorId } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  try {
    const pair = keystore.signingKey(role);
    const secret = exportSigningKey(pair);
    let info: HsmKeyInfo;
    try {
      info = await provider.importKey(pair.suite.name as HsmKeyType, options.label, secret);
    } finally {
      secret.fill(0);
    }
    // importKey already checked the public key and a probe; check again here against the keystore's own public key.
    const probe = probeMessage();
    const sig = await provider.sign(options.label, probe);
    if (!info.publicKey?.equals(pair.publicKey) || !verifySignature(pair.suite, pair.publicKey, probe, sig)) {
      throw new HsmError('HSM_MIGRATE_FAILED', `the token key '${options.label}' does not sign for the keystore's ${role} public key ${publicKeyFingerprint(pair.publicKey)}`);
    }
    return { validatorId: keystore.validatorId, role, keystoreFingerprint: publicKeyFingerprint(pair.publicKey), key: info };
  } finally {
    keystore.close();
  }
}
