// The signer backends this build has, behind one small interface each, so
// that the signer factory and the --validate-only checks reach the keystore,
// HSM and remote signer modules in one place. A backend that is not in this
// build is null: the factory refuses its mode with SIGNER_NOT_AVAILABLE and
// the checks that need it report 'not checked', never 'passed'.

import type { KemKeyPair } from '../crypto/kem.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import type { SigningKeyPair } from '../crypto/signing-key.ts';
import { connect as kemtlsConnect } from '../kemtls/index.ts';
import { SUITE_ML_DSA_44 } from '../crypto/suites.ts';
import { createHsmSigner, type ConnectHsmOptions } from '../hsm/hsm-signer.ts';
import { createEncryptedFsSigner, KeystoreError, openIdentityKey, openKeystore, readPassphrase, readPublicKeyFile, scanKeystore } from '../keystore/index.ts';
import { remoteSignerEndpoint } from './values.ts';
import { createRemoteTransportSigner } from '../remote/remote-signer-client.ts';
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
  /** Opens a keystore's p2p-identity key (ML-KEM-768): the node's KEMTLS client key. */
  openIdentityKey(dir: string, options: { passphrase: string | null; profile: ProfileName; validatorId?: bigint; onWarning?: (m: string) => void }): Promise<KemKeyPair>;
  /** The ML-KEM-768 public key of a p2p_identity.pub file (the remote signer's identity). */
  readIdentityPublicKey(path: string): Uint8Array;
  /** The EncryptedFsV1 signer of a keystore. */
  createSigner(options: { keystoreDir: string; passphrase: string; chainId: bigint; profile: ProfileName; validatorId: bigint; onWarning?: (m: string) => void }): Promise<ValidatorSigner>;
}

export interface HsmBackend {
  /** Connects, logs in with the PIN from the variable hsm.toml names, finds and checks the key. */
  createSigner(options: { configPath: string; validatorId: bigint; chainId: bigint; env: NodeJS.ProcessEnv }): Promise<ValidatorSigner>;
}

export interface RemoteSignerEndpoint {
  /** kemtls://host:port */
  url: string;
  /** The signer's identity public key, pinned. */
  signerPublicKey: Uint8Array;
  /** This node's identity key. */
  identity: KemKeyPair;
  timeoutMs: number;
}

export interface RemoteBackend {
  /**
   * A KEMTLS handshake with the signer and a clean close: proves it answers,
   * holds the pinned key and accepts this node's identity. Sends no signing
   * request. Resolves with the signer key's fingerprint.
   */
  probe(endpoint: RemoteSignerEndpoint): Promise<string>;
  /** A signer that talks to qbind-remote-signer (connects on first use); absent when the client is not in the build. */
  createSigner?: (options: RemoteSignerEndpoint & { validatorId: bigint; chainId: bigint }) => Promise<ValidatorSigner>;
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
    return readPassphrase({ env: source.env!, profile: source.profile, environment });
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
  openIdentityKey(dir, options) {
    return openIdentityKey(dir, options);
  },
  readIdentityPublicKey(path) {
    const info = readPublicKeyFile(path);
    if (info.role !== 'p2p-identity') throw new KeystoreError('KEY_ROLE_MISMATCH', `${path} holds a ${info.role} public key; the remote signer is pinned by its p2p-identity (ML-KEM-768) key`);
    return info.publicKey;
  },
  createSigner(options) {
    return createEncryptedFsSigner(options);
  },
};

/** The remote signer: the handshake probe over src/kemtls, the signing client of src/remote. */
export const remoteBackend: RemoteBackend = {
  async probe(endpoint) {
    const { host, port } = remoteSignerEndpoint(endpoint.url);
    const conn = await kemtlsConnect({ host, port, clientKey: endpoint.identity, serverPublicKey: endpoint.signerPublicKey, handshakeTimeoutMs: endpoint.timeoutMs });
    conn.close();
    return publicKeyFingerprint(endpoint.signerPublicKey);
  },
  async createSigner(o) {
    // Without a failure mode of its own: the factory applies the configured one around it.
    return createRemoteTransportSigner({ url: o.url, validatorId: o.validatorId, identity: o.identity, signerPublicKey: o.signerPublicKey, handshakeTimeoutMs: o.timeoutMs });
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
  return { keystore: keystoreBackend, hsm: hsmBackend(), remote: remoteBackend };
}

/** What each backend is, for 'not available' messages. */
export const BACKEND_NAMES = {
  keystore: 'the EncryptedFsV1 keystore (src/keystore)',
  hsm: 'the PKCS#11 HSM signer (src/hsm)',
  remote: 'the remote signer client (the node side of qbind-remote-signer)',
} as const;
