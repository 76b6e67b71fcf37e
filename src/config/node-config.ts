// NodeConfig: every node setting the runbook names (§3.1, §3.2, §3.5, §5.1,
// §5.4, §6.3, §7.1, §8.2), the value sets of its enumerated settings with the
// spellings the seeds use, and the derived values (chain id, default paths).
// Profiles fill a NodeConfig (profiles.ts); node.toml and flags change it
// (settings.ts); invariants.ts judges it. See docs/node-config.md.

import { join } from 'node:path';
import { chainIdFor, type NetworkEnvironment } from '../preimage/chain-id.ts';
import { parseSignerUrl } from '../remote/signer-url.ts';
import { SignerFailureMode, SignerMode } from '../signer/validator-signer.ts';
import { ConfigError } from './config-error.ts';
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

/** A deep copy (configs are plain data; bigints and arrays included). */
export function cloneNodeConfig(config: NodeConfig): NodeConfig {
  return structuredClone(config);
}

/** The signer modes that read a keystore folder. */
export function usesKeystore(config: NodeConfig): boolean {
  return config.signer.mode === SignerMode.EncryptedFsV1 || (config.signer.mode === SignerMode.LoopbackTesting && config.signer.keystorePath !== null);
}

/**
 * Fills the paths derived from data_dir when they were not set:
 * snapshot_config.dir = <data_dir>/snapshots and, for encrypted-fs,
 * signer.keystore_path = <data_dir>/keystore (the runbook's layout), and for
 * remote-signer signer.identity_keystore_path = <data_dir>/keystore. Returns
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
  return filled;
}

// ---- value parsing shared by flags and node.toml ----

function canonical(text: string): string {
  return text.trim().toLowerCase().replaceAll('_', '-');
}

/**
 * Parses one of `values`, case-insensitively, with '_' for '-' and the
 * given aliases (keys already in canonical form: lower case, dashes).
 */
export function parseChoice<T extends string>(what: string, text: string, values: readonly T[], aliases: Record<string, T> = {}): T {
  const c = canonical(text);
  const hit = (values as readonly string[]).includes(c) ? (c as T) : aliases[c] ?? aliases[c.replaceAll('-', '')];
  if (hit === undefined) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not one of ${values.join(', ')}`);
  return hit;
}

const SIGNER_MODE_ALIASES: Record<string, SignerMode> = {
  loopback: SignerMode.LoopbackTesting,
  loopbacktesting: SignerMode.LoopbackTesting,
  encryptedfs: SignerMode.EncryptedFsV1,
  encryptedfsv1: SignerMode.EncryptedFsV1,
  'encrypted-fs-v1': SignerMode.EncryptedFsV1,
  remote: SignerMode.RemoteSigner,
  remotesigner: SignerMode.RemoteSigner,
  hsm: SignerMode.HsmPkcs11,
  pkcs11: SignerMode.HsmPkcs11,
  hsmpkcs11: SignerMode.HsmPkcs11,
};

/** Signer mode in the runbook's spelling or the design doc's (loopback, remote, hsm, EncryptedFsV1, ...). */
export function parseSignerMode(text: string, what = 'signer mode'): SignerMode {
  return parseChoice(what, text, SIGNER_MODES, SIGNER_MODE_ALIASES);
}

export function parseSignerFailureMode(text: string, what = 'signer failure mode'): SignerFailureMode {
  return parseChoice(what, text, SIGNER_FAILURE_MODES, {
    exit: SignerFailureMode.ExitOnFailure,
    exitonfailure: SignerFailureMode.ExitOnFailure,
    log: SignerFailureMode.LogAndContinue,
    logandcontinue: SignerFailureMode.LogAndContinue,
  });
}

export function parseEnvironment(text: string, what = 'environment'): NetworkEnvironment {
  return parseChoice(what, text, NETWORK_ENVIRONMENTS);
}

export function parseBool(what: string, text: string): boolean {
  const c = canonical(text);
  if (c === 'true') return true;
  if (c === 'false') return false;
  throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not true or false`);
}

/** A decimal integer in [min, max]. */
export function parseUint(what: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim().replaceAll('_', '');
  if (!/^[0-9]{1,16}$/.test(t)) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not a whole number`);
  const v = Number(t);
  if (v < min || v > max) throw new ConfigError('BAD_VALUE', `${what}: ${v} is out of range [${min}, ${max}]`);
  return v;
}

/** An unsigned 64-bit integer (validator ids, heights). */
export function parseU64(what: string, text: string): bigint {
  const t = text.trim().replaceAll('_', '');
  if (/^[0-9]{1,20}$/.test(t)) {
    const v = BigInt(t);
    if (v < 1n << 64n) return v;
  }
  throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not an unsigned 64-bit integer`);
}

/** A number in (0, 1]. */
export function parseFraction(what: string, text: string): number {
  const t = text.trim();
  const v = /^(0|1)?(\.[0-9]+)?$/.test(t) && t !== '' && t !== '.' ? Number(t) : NaN;
  if (!(v > 0 && v <= 1)) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not a fraction in (0, 1]`);
  return v;
}

export function parseNonEmpty(what: string, text: string): string {
  if (text.trim() === '') throw new ConfigError('BAD_VALUE', `${what}: empty value`);
  if (/[\0\r\n]/.test(text)) throw new ConfigError('BAD_VALUE', `${what}: value contains a control character`);
  return text;
}

export function parseEnvVarName(what: string, text: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not an environment variable name`);
  return text;
}

export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** host:port with a DNS name, an IPv4 address or a [bracketed] IPv6 address; port 1-65535. */
export function parseHostPort(what: string, text: string): HostPort {
  const t = text.trim();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):([0-9]{1,5})$/.exec(t);
  const host = m?.[1] ?? m?.[2];
  const port = m ? Number(m[3]) : 0;
  if (!m || host === undefined || port < 1 || port > 65535 || (m[2] !== undefined && !HOSTNAME.test(host))) {
    throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not host:port (a DNS name, IPv4 or [IPv6] address and a port 1-65535)`);
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** A host:port, kept in its written form after checking it. */
export function parseAddress(what: string, text: string): string {
  return formatHostPort(parseHostPort(what, text));
}

/**
 * The remote signer address: `kemtls://host:port` (runbook §3.5) or a bare
 * `host:port` (design doc §6.4), read by src/remote's parser and normalized
 * to the kemtls:// form.
 */
export function parseRemoteSignerUrl(what: string, text: string): string {
  try {
    return `kemtls://${formatHostPort(parseSignerUrl(text))}`;
  } catch (err) {
    throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not a remote signer address (kemtls://host:port or host:port)`, { cause: err });
  }
}

/** host and port of a normalized remote signer URL. */
export function remoteSignerEndpoint(url: string): HostPort {
  return parseSignerUrl(url);
}
