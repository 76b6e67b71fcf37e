// validate_mainnet_invariants (runbook §3.2, §3.5; design doc §3.6, §6) as
// pure checks of a NodeConfig: the 14 numbered invariants of runbook §3.2,
// 15 (mempool eviction not off, runbook §3.5) and 16 (the signer mode has
// what it needs), the signer-mode matrix of design doc §6.1 and its warnings.
// Every violation is reported at once with its number, the value found, what
// was expected and the fix. The checks that need the outside world (17-19)
// are in signer-checks.ts. docs/invariants.md is the reference.

import { SignerFailureMode, SignerMode } from '../signer/validator-signer.ts';
import type { NodeConfig } from './node-config.ts';
import type { ProfileName } from './profiles.ts';
import { showValue, settingByKey, SETTINGS, type SettingValue } from './settings.ts';

export interface Violation {
  invariant: number;
  /** The rule, as the runbook writes it: 'gas_enabled == true'. */
  name: string;
  /** node.toml key of the setting at fault. */
  setting: string;
  found: string;
  expected: string;
  fix: string;
}

export interface ConfigWarning {
  /** W1 loopback on TestNet Beta, W2 encrypted-fs on MainNet, W3 loose keystore permissions off the strict networks. */
  code: 'W1' | 'W2' | 'W3';
  setting: string;
  message: string;
}

export type SignerModePolicy = 'allowed' | 'discouraged' | 'forbidden';

/** Design doc §6.1 (and §3.2-§3.5): which signer mode each network allows. */
export const SIGNER_MODE_POLICY: Readonly<Record<ProfileName, Readonly<Record<SignerMode, SignerModePolicy>>>> = {
  'devnet-v0': { 'loopback-testing': 'allowed', 'encrypted-fs': 'allowed', 'remote-signer': 'allowed', 'hsm-pkcs11': 'allowed' },
  'testnet-alpha': { 'loopback-testing': 'allowed', 'encrypted-fs': 'allowed', 'remote-signer': 'allowed', 'hsm-pkcs11': 'allowed' },
  'testnet-beta': { 'loopback-testing': 'discouraged', 'encrypted-fs': 'allowed', 'remote-signer': 'allowed', 'hsm-pkcs11': 'allowed' },
  mainnet: { 'loopback-testing': 'forbidden', 'encrypted-fs': 'allowed', 'remote-signer': 'allowed', 'hsm-pkcs11': 'allowed' },
};

/**
 * The network whose rules apply: mainnet when either the profile or the
 * environment is mainnet (fail closed: --profile mainnet --env devnet is
 * judged as MainNet and fails invariant 1); else the profile.
 */
export function targetNetwork(config: NodeConfig): ProfileName {
  return config.profile === 'mainnet' || config.environment === 'mainnet' ? 'mainnet' : config.profile;
}

export function signerModePolicy(config: NodeConfig, mode: SignerMode): SignerModePolicy {
  return SIGNER_MODE_POLICY[targetNetwork(config)][mode];
}

function flagOf(key: string): string {
  return settingByKey(key)?.flags[0] ?? key;
}

/** "pass --flag VALUE or set key = VALUE in node.toml" */
export function fixFor(key: string, value: string): string {
  const s = settingByKey(key);
  const toml = s && (s.type === 'string' || s.type === 'list') ? `"${value}"` : value;
  return `pass ${flagOf(key)} ${value} or set ${key} = ${toml} in node.toml`;
}

interface Invariant {
  n: number;
  name: string;
  setting: string;
  expected: string;
  ok: (c: NodeConfig) => boolean;
  fix: string;
}

const SNAPSHOT_MIN = 10_000;
const SNAPSHOT_MAX = 500_000;

/** The mainnet invariants that are pure functions of the config (1-15). */
export const MAINNET_INVARIANTS: readonly Invariant[] = [
  { n: 1, name: 'network_environment == Mainnet', setting: 'environment', expected: 'mainnet', ok: (c) => c.environment === 'mainnet', fix: fixFor('environment', 'mainnet') },
  { n: 2, name: 'gas_enabled == true', setting: 'gas_enabled', expected: 'true', ok: (c) => c.gasEnabled, fix: fixFor('gas_enabled', 'true') },
  { n: 3, name: 'enable_fee_priority == true', setting: 'enable_fee_priority', expected: 'true', ok: (c) => c.feePriorityEnabled, fix: fixFor('enable_fee_priority', 'true') },
  { n: 4, name: 'mempool_mode == Dag', setting: 'mempool_mode', expected: 'dag', ok: (c) => c.mempoolMode === 'dag', fix: fixFor('mempool_mode', 'dag') },
  { n: 5, name: 'dag_availability_enabled == true', setting: 'dag_availability_enabled', expected: 'true', ok: (c) => c.dagAvailabilityEnabled, fix: fixFor('dag_availability_enabled', 'true') },
  { n: 6, name: 'network_mode == P2p', setting: 'network_mode', expected: 'p2p', ok: (c) => c.networkMode === 'p2p', fix: fixFor('network_mode', 'p2p') },
  { n: 7, name: 'enable_discovery == true', setting: 'p2p.discovery_enabled', expected: 'true', ok: (c) => c.p2p.discoveryEnabled, fix: fixFor('p2p.discovery_enabled', 'true') },
  { n: 8, name: 'data_dir configured', setting: 'data_dir', expected: 'a data directory', ok: (c) => c.dataDir !== null && c.dataDir.trim() !== '', fix: fixFor('data_dir', '/data/qbind') },
  {
    n: 9, name: 'signer_mode != LoopbackTesting', setting: 'signer.mode', expected: 'encrypted-fs, remote-signer or hsm-pkcs11',
    ok: (c) => c.signer.mode !== null && c.signer.mode !== SignerMode.LoopbackTesting,
    fix: `pass ${flagOf('signer.mode')} hsm-pkcs11|remote-signer|encrypted-fs (with its options) or set signer.mode in node.toml; loopback-testing is forbidden on MainNet`,
  },
  {
    n: 10, name: 'signer_failure_mode == ExitOnFailure', setting: 'signer.failure_mode', expected: 'exit-on-failure',
    ok: (c) => c.signer.failureMode === SignerFailureMode.ExitOnFailure, fix: fixFor('signer.failure_mode', 'exit-on-failure'),
  },
  { n: 11, name: 'diversity_mode == Enforce', setting: 'p2p.diversity_mode', expected: 'enforce', ok: (c) => c.p2p.diversityMode === 'enforce', fix: fixFor('p2p.diversity_mode', 'enforce') },
  { n: 12, name: 'monetary_mode != Off', setting: 'monetary_mode', expected: 'shadow or active', ok: (c) => c.monetaryMode !== 'off', fix: fixFor('monetary_mode', 'shadow') },
  { n: 13, name: 'snapshot_config.enabled == true', setting: 'snapshot_config.enabled', expected: 'true', ok: (c) => c.snapshot.enabled, fix: fixFor('snapshot_config.enabled', 'true') },
  {
    n: 14, name: 'snapshot_interval_blocks in [10,000, 500,000]', setting: 'snapshot_config.snapshot_interval_blocks', expected: '10000 to 500000',
    ok: (c) => c.snapshot.intervalBlocks >= SNAPSHOT_MIN && c.snapshot.intervalBlocks <= SNAPSHOT_MAX, fix: fixFor('snapshot_config.snapshot_interval_blocks', '50000'),
  },
  { n: 15, name: 'mempool_eviction_mode != Off', setting: 'mempool.eviction_mode', expected: 'enforce (or warn)', ok: (c) => c.mempool.evictionMode !== 'off', fix: fixFor('mempool.eviction_mode', 'enforce') },
];

export function settingValue(config: NodeConfig, key: string): SettingValue {
  const s = SETTINGS.find((x) => x.key === key);
  return s ? s.get(config) : null;
}

function violation(inv: Invariant, config: NodeConfig): Violation {
  return { invariant: inv.n, name: inv.name, setting: inv.setting, found: showValue(settingValue(config, inv.setting)), expected: inv.expected, fix: inv.fix };
}

/**
 * Invariants 1-15 against the MainNet rules, whatever the config's profile
 * (a devnet config fails invariant 1 and more). [] when all hold.
 */
export function validateMainnetInvariants(config: NodeConfig): Violation[] {
  return MAINNET_INVARIANTS.filter((inv) => !inv.ok(config)).map((inv) => violation(inv, config));
}

const MODE_NEEDS: Partial<Record<SignerMode, { key: string; example: string; derived?: true }[]>> = {
  [SignerMode.EncryptedFsV1]: [{ key: 'signer.keystore_path', example: '/data/qbind/keystore', derived: true }],
  [SignerMode.RemoteSigner]: [
    { key: 'signer.remote_signer_url', example: 'kemtls://signer.internal:9443' },
    { key: 'signer.remote_signer_public_key_path', example: '/etc/qbind/signer_identity.pub' },
    { key: 'signer.identity_keystore_path', example: '/data/qbind/keystore', derived: true },
  ],
  [SignerMode.HsmPkcs11]: [{ key: 'signer.hsm_config_path', example: '/etc/qbind/hsm.toml' }],
};

/** Invariant 16, on every network: the signer mode has the settings it cannot start without. */
export function checkSignerSettings(config: NodeConfig): Violation[] {
  const out: Violation[] = [];
  const mode = config.signer.mode;
  const name = 'signer configuration complete';
  if (mode === null) {
    // On MainNet invariant 9 reports it.
    if (targetNetwork(config) !== 'mainnet') {
      out.push({ invariant: 16, name, setting: 'signer.mode', found: 'not set', expected: 'a signer mode', fix: fixFor('signer.mode', 'encrypted-fs') });
    }
    return out;
  }
  if (config.validatorId === null) {
    out.push({ invariant: 16, name, setting: 'validator_id', found: 'not set', expected: `the validator id the ${mode} signer signs for`, fix: fixFor('validator_id', '42') });
  }
  for (const need of MODE_NEEDS[mode] ?? []) {
    if (settingValue(config, need.key) !== null) continue;
    const extra = need.derived ? ' (or set data_dir: the default is <data_dir>/keystore)' : '';
    out.push({ invariant: 16, name, setting: need.key, found: 'not set', expected: `required by signer mode ${mode}`, fix: fixFor(need.key, need.example) + extra });
  }
  return out;
}

/** Design doc §6.1 warnings: loopback where it is discouraged, encrypted-fs on MainNet. */
export function signerWarnings(config: NodeConfig): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const mode = config.signer.mode;
  if (mode === null) return out;
  if (signerModePolicy(config, mode) === 'discouraged') {
    out.push({
      code: 'W1', setting: 'signer.mode',
      message: `signer mode ${mode} is discouraged on ${targetNetwork(config)} (design doc §3.2, §6.4): the key is in the node's process; use encrypted-fs or remote-signer`,
    });
  }
  if (mode === SignerMode.EncryptedFsV1 && targetNetwork(config) === 'mainnet') {
    out.push({
      code: 'W2', setting: 'signer.mode',
      message: 'encrypted-fs on MainNet is acceptable only on a hardened host (design doc §3.3, §4.7): minimal attack surface and firewall, a passphrase of 20+ high-entropy characters, key files 0600, regular audits; an HSM or remote signer is strongly recommended',
    });
  }
  return out;
}
