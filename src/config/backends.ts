// The signer backends this build has, behind one small interface each, so
// that the signer factory and the --validate-only checks reach the keystore,
// HSM and remote signer modules in one place. A backend that is not in this
// build is null: the factory refuses its mode with SIGNER_NOT_AVAILABLE and
// the checks that need it report 'not checked', never 'passed'.

import type { SigningKeyPair } from '../crypto/signing-key.ts';
import type { ValidatorSigner } from '../signer/validator-signer.ts';
import type { ProfileName } from './profiles.ts';

export interface UnlockedConsensusKey {
  validatorId: bigint;
  key: SigningKeyPair;
  close(): void;
}

export interface KeystoreBackend {
  /** From a variable or a file, with the keystore module's rules (MainNet length, file permissions). */
  readPassphrase(source: { env?: string; file?: string; profile: ProfileName }): string;
  /** Opens a keystore's consensus key (passphrase null: a plaintext DevNet keystore). */
  openConsensusKey(dir: string, passphrase: string | null, profile: ProfileName): Promise<UnlockedConsensusKey>;
  /** The EncryptedFsV1 signer of a keystore. */
  createSigner(options: { keystoreDir: string; passphrase: string; chainId: bigint; profile: ProfileName }): Promise<ValidatorSigner>;
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

/** The backends compiled into this build. */
export async function builtInBackends(): Promise<SignerBackends> {
  return { keystore: null, hsm: null, remote: null };
}

/** What each backend is, for 'not available' messages. */
export const BACKEND_NAMES = {
  keystore: 'the EncryptedFsV1 keystore (src/keystore)',
  hsm: 'the PKCS#11 HSM signer (src/hsm)',
  remote: 'the remote signer client over KEMTLS',
} as const;
