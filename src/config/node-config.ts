// NodeConfig: every node setting the runbook names (§3.1, §3.2, §3.5, §5.1,
// §5.4, §6.3, §7.1, §8.2), the value sets of its enumerated settings with the
// spellings the seeds use, and the derived values (chain id, default paths).
// Profiles fill a NodeConfig (profiles.ts); node.toml and flags change it
// (settings.ts); invariants.ts judges it. Value parsers: values.ts. See
// docs/node-config.md.

import { join } from 'node:path';
import { chainIdFor, type NetworkEnvironment } from '../preimage/chain-id.ts';
import { SignerFailureMode, SignerMode } from '../signer/validator-signer.ts';
import type { ProfileName } from './profiles.ts';

export const EXECUTION_PROFILES = ['nonce-only', 'vm-v0'] as const;
export type ExecutionProfile = (typeof EXECUTION_PROFILES)[number];
export const MEMPOOL_MODES = ['fifo', 'dag'] as const;
export type MempoolMode = (typeof MEMPOOL_MODES)[number];
export const NETWORK_MODES = ['local-mesh', 'p2p'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];
export const DIVERSITY_MODES = ['off', 'warn', 'enforce'] as const;
export type DiversityMode = (typeof DIVERSITY_MODES)[number];
export const MONETARY_MODES = ['off', 'shadow', 'active'] as const;
export type MonetaryMode = (typeof MONETARY_MODES)[number];
export const EVICTION_MODES = ['off', 'warn', 'enforce'] as const;
export type EvictionMode = (typeof EVICTION_MODES)[number];
export const STATE_RETENTION_MODES = ['disabled', 'height'] as const;
export type StateRetentionMode = (typeof STATE_RETENTION_MODES)[number];
export const NETWORK_ENVIRONMENTS: readonly NetworkEnvironment[] = ['devnet', 'testnet', 'mainnet'];
export const SIGNER_MODES: readonly SignerMode[] = Object.values(SignerMode);
export const SIGNER_FAILURE_MODES: readonly SignerFailureMode[] = Object.values(SignerFailureMode);

/** Time limit of each outside-world check of --validate-only: an HSM login and self-test can take seconds. */
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

/** Default environment variable holding the keystore passphrase (runbook §4.1). */
export const DEFAULT_PASSPHRASE_ENV = 'QBIND_KEYSTORE_PASSPHRASE';

export interface P2pConfig {
  listenAddr: string | null;
  advertisedAddr: string | null;
  bootstrapPeers: string[];
  discoveryEnabled: boolean;
  diversityMode: DiversityMode;
  maxPeersPerPrefix24: number;
  maxPeersPerPrefix16: number;
  maxPeersPerIpv6Prefix48: number;
  maxSingleBucketFraction: number;
  outboundPeerTarget: number;
}

export interface SignerConfig {
  /** null: not chosen (the mainnet profile leaves it to the operator). */
  mode: SignerMode | null;
  failureMode: SignerFailureMode;
  keystorePath: string | null;
  /** Name of the variable holding the keystore passphrase (never the passphrase). */
  keystorePassphraseEnv: string;
  keystorePassphraseFile: string | null;
  /** kemtls://host:port */
  remoteSignerUrl: string | null;
  /** The signer's identity public key file (p2p_identity.pub), pinned by the KEMTLS client. */
  remoteSignerPublicKeyPath: string | null;
  /** Keystore folder with this node's p2p_identity.key, the KEMTLS client key (default <data_dir>/keystore). */
  identityKeystorePath: string | null;
  hsmConfigPath: string | null;
  /**
   * Double-sign protection store of the local signer modes (encrypted-fs,
   * hsm-pkcs11, loopback-testing): a file, sqlite:PATH or postgres:// URL
   * (default <data_dir>/signer-protection.sqlite). remote-signer is protected
   * by the daemon's own store.
   */
  protectionStore: string | null;
}

export interface SnapshotConfig {
  enabled: boolean;
  dir: string | null;
  intervalBlocks: number;
  maxSnapshots: number;
  fastSyncSnapshotDir: string | null;
}

export interface StateRetentionConfig {
  mode: StateRetentionMode;
  retainHeight: bigint;
}

export interface MempoolConfig {
  maxPendingTxs: number;
  evictionMode: EvictionMode;
  evictionMaxPerInterval: number;
  evictionIntervalSecs: number;
}

export interface NodeConfig {
  /** The profile whose defaults this configuration started from. */
  profile: ProfileName;
  environment: NetworkEnvironment;
  executionProfile: ExecutionProfile;
  gasEnabled: boolean;
  feePriorityEnabled: boolean;
  mempoolMode: MempoolMode;
  dagAvailabilityEnabled: boolean;
  networkMode: NetworkMode;
  p2pEnabled: boolean;
  stageBEnabled: boolean;
  dataDir: string | null;
  validatorId: bigint | null;
  monetaryMode: MonetaryMode;
  p2p: P2pConfig;
  signer: SignerConfig;
  snapshot: SnapshotConfig;
  stateRetention: StateRetentionConfig;
  mempool: MempoolConfig;
}

/** The chain id every preimage of this node carries. */
export function chainIdOf(config: NodeConfig): bigint {
  return chainIdFor(config.environment);
}

/** The signer modes that read a keystore folder. */
export function usesKeystore(config: NodeConfig): boolean {
  return config.signer.mode === SignerMode.EncryptedFsV1 || (config.signer.mode === SignerMode.LoopbackTesting && config.signer.keystorePath !== null);
}

/**
 * Fills the paths derived from data_dir when they were not set:
 * snapshot_config.dir = <data_dir>/snapshots and, for encrypted-fs,
 * signer.keystore_path = <data_dir>/keystore (the runbook's layout), and for
 * remote-signer signer.identity_keystore_path = <data_dir>/keystore, and for
 * the local signer modes signer.protection_store =
 * <data_dir>/signer-protection.sqlite. Returns
 * the keys it filled.
 */
export function deriveDefaultPaths(config: NodeConfig): string[] {
  const filled: string[] = [];
  if (config.dataDir === null) return filled;
  if (config.snapshot.dir === null) {
    config.snapshot.dir = join(config.dataDir, 'snapshots');
    filled.push('snapshot_config.dir');
  }
  if (config.signer.keystorePath === null && config.signer.mode === SignerMode.EncryptedFsV1) {
    config.signer.keystorePath = join(config.dataDir, 'keystore');
    filled.push('signer.keystore_path');
  }
  if (config.signer.identityKeystorePath === null && config.signer.mode === SignerMode.RemoteSigner) {
    config.signer.identityKeystorePath = join(config.dataDir, 'keystore');
    filled.push('signer.identity_keystore_path');
  }
  if (config.signer.protectionStore === null && config.signer.mode !== null && config.signer.mode !== SignerMode.RemoteSigner) {
    config.signer.protectionStore = join(config.dataDir, 'signer-protection.sqlite');
    filled.push('signer.protection_store');
  }
  return filled;
}
