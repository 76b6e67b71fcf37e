// The signer backends this build has, behind one small interface each, so
// that the signer factory and the --validate-only checks reach the keystore,
// HSM and remote signer modules in one place. A backend that is not in this
// build is null: the factory refuses its mode with SIGNER_NOT_AVAILABLE and
// the checks that need it report 'not checked', never 'passed'.

import type { SigningKeyPair } from '../crypto/signing-key.ts';
import { SUITE_ML_DSA_44 } from '../crypto/suites.ts';
import { createHsmSigner, type ConnectHsmOptions } from '../hsm/hsm-signer.ts';
import { checkPassphrasePolicy, createEncryptedFsSigner, KeystoreError, openKeystore, readPassphrase, scanKeystore } from '../keystore/index.ts';
import type { ValidatorSigner } from '../signer/validator-signer.ts';
import type { ProfileName } from './profiles.ts';

export interface UnlockedConsensusKey {
  validatorId: bigint;
  key: SigningKeyPair;
  close(): void;
}

export interface KeystoreProblemReport {
  severity: 'error' | 'warning';
  code: string;
  message: string;
}

export interface PassphraseSource {
  /** Name of the environment variable, read from `environment`. */
  env?: string;
  file?: string;
  profile: ProfileName;
}

export interface KeystoreBackend {
  /** From a variable or a file, with the keystore module's rules (not empty, MainNet length, file permissions). */
  readPassphrase(source: PassphraseSource, environment: NodeJS.ProcessEnv): string;
  /** Every problem of a keystore folder without unlocking it (missing folder: one error). */
  scan(dir: string, options: { profile: ProfileName; validatorId?: bigint }): KeystoreProblemReport[];
  /** Opens a keystore's consensus key (passphrase null: a plaintext DevNet keystore). */
  openConsensusKey(dir: string, options: { passphrase: string | null; profile: ProfileName; validatorId?: bigint; onWarning?: (m: string) => void }): Promise<UnlockedConsensusKey>;
  /** The EncryptedFsV1 signer of a keystore. */
  createSigner(options: { keystoreDir: string; passphrase: string; chainId: bigint; profile: ProfileName; validatorId: bigint; onWarning?: (m: string) => void }): Promise<ValidatorSigner>;
}

export interface HsmBackend {
  /** Connects, logs in with the PIN from the variable hsm.toml names, finds and checks the key. */
  createSigner(options: { configPath: string; validatorId: bigint; chainId: bigint; env: NodeJS.ProcessEnv }): Promise<ValidatorSigner>;
}

export interface RemoteBackend {
  /** A signer that talks to qbind-remote-signer at `url` (kemtls://host:port). */
  createSigner(options: { url: string; validatorId: bigint; chainId: bigint; env: NodeJS.ProcessEnv }): Promise<ValidatorSigner>;
}

export interface SignerBackends {
  keystore: KeystoreBackend | null;
  hsm: HsmBackend | null;
  remote: RemoteBackend | null;
}

/** src/keystore (EncryptedFsV1, issue 3). */
export const keystoreBackend: KeystoreBackend = {
  readPassphrase(source, environment) {
    if (source.file !== undefined) return readPassphrase({ file: source.file, profile: source.profile });
    const name = source.env!;
    const value = environment[name];
    if (value === undefined) throw new KeystoreError('PASSPHRASE_ENV_UNSET', `environment variable ${name} is not set; export the keystore passphrase in it`);
    checkPassphrasePolicy(value, source.profile, `the passphrase in ${name}`);
    return value;
  },
  scan(dir, options) {
    try {
      return scanKeystore(dir, options).problems.map((p) => ({ severity: p.severity, code: p.code, message: p.message }));
    } catch (err) {
      if (err instanceof KeystoreError) return [{ severity: 'error', code: err.code, message: err.message }];
      throw err;
    }
  },
  async openConsensusKey(dir, options) {
    const ks = await openKeystore(dir, { ...options, roles: ['consensus'] });
    return { validatorId: ks.validatorId, key: ks.signingKey('consensus'), close: () => ks.close() };
  },
  createSigner(options) {
    return createEncryptedFsSigner(options);
  },
};

/**
 * src/hsm (PKCS#11, issue 7). The key must be ML-DSA-44 (suite 100): QBIND
 * consensus allows no classical signature on any network. `extra` passes
 * provider options through (a PKCS#11 binding for tests, a logger).
 */
export function hsmBackend(extra: Omit<ConnectHsmOptions, 'env'> = {}): HsmBackend {
  return {
    createSigner: (options) => createHsmSigner({ ...extra, ...options, expectedSuiteId: SUITE_ML_DSA_44 }),
  };
}

/** The backends compiled into this build. */
export async function builtInBackends(): Promise<SignerBackends> {
  return { keystore: keystoreBackend, hsm: hsmBackend(), remote: null };
}

/** What each backend is, for 'not available' messages. */
export const BACKEND_NAMES = {
  keystore: 'the EncryptedFsV1 keystore (src/keystore)',
  hsm: 'the PKCS#11 HSM signer (src/hsm)',
  remote: 'the remote signer client over KEMTLS',
} as const;
