// The table of node settings: for each, its node.toml key (and accepted
// aliases), its command-line flags (the runbook's, then the design doc's
// spellings), its type, and how it reads and writes a NodeConfig. Flags,
// node.toml and --print-config all go through this one table, so a setting
// has the same name, parser and checks everywhere. docs/node-config.md lists it.

import type { NodeConfig } from './node-config.ts';
import { DIVERSITY_MODES, EVICTION_MODES, EXECUTION_PROFILES, MEMPOOL_MODES, MONETARY_MODES, NETWORK_MODES, STATE_RETENTION_MODES } from './node-config.ts';
import { parseAddress, parseBool, parseChoice, parseEnvVarName, parseEnvironment, parseFraction, parseNonEmpty, parseRemoteSignerUrl, parseSignerFailureMode, parseSignerMode, parseU64, parseUint } from './values.ts';

export type SettingType = 'boolean' | 'integer' | 'float' | 'string' | 'list';
export type SettingValue = boolean | number | bigint | string | string[] | null;

export interface Setting {
  /** node.toml key, dotted for a [section] key: 'p2p.listen_addr'. */
  readonly key: string;
  /** Other node.toml keys accepted for it (the runbook uses two names for some). */
  readonly tomlAliases: readonly string[];
  /** Command-line flags; the first is the one --help shows. */
  readonly flags: readonly string[];
  readonly type: SettingType;
  readonly help: string;
  /** Parses `text` and stores it; `where` names the flag or key for errors. */
  apply(config: NodeConfig, text: string, where: string): void;
  get(config: NodeConfig): SettingValue;
}

function def(
  key: string, flags: string[], type: SettingType, help: string,
  apply: (c: NodeConfig, text: string, where: string) => void, get: (c: NodeConfig) => SettingValue, tomlAliases: string[] = [],
): Setting {
  return { key, flags, type, help, apply, get, tomlAliases };
}

const bool = (set: (c: NodeConfig, v: boolean) => void) => (c: NodeConfig, t: string, w: string) => set(c, parseBool(w, t));
const uint = (set: (c: NodeConfig, v: number) => void, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  (c: NodeConfig, t: string, w: string) => set(c, parseUint(w, t, min, max));
const path = (set: (c: NodeConfig, v: string) => void) => (c: NodeConfig, t: string, w: string) => set(c, parseNonEmpty(w, t));

function list(text: string, where: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.map((s) => parseAddress(where, s));
}

export const SETTINGS: readonly Setting[] = [
  // ---- runbook §3.1 / §3.2 ----
  def('environment', ['--env', '--environment'], 'string', 'network environment: devnet, testnet, mainnet (invariant 1)',
    (c, t, w) => { c.environment = parseEnvironment(t, w); }, (c) => c.environment, ['network_environment']),
  def('execution_profile', ['--execution-profile'], 'string', `execution profile: ${EXECUTION_PROFILES.join(', ')}`,
    (c, t, w) => { c.executionProfile = parseChoice(w, t, EXECUTION_PROFILES); }, (c) => c.executionProfile),
  def('gas_enabled', ['--enable-gas'], 'boolean', 'charge gas (invariant 2)',
    bool((c, v) => { c.gasEnabled = v; }), (c) => c.gasEnabled, ['enable_gas']),
  def('enable_fee_priority', ['--enable-fee-priority'], 'boolean', 'order the mempool by fee (invariant 3)',
    bool((c, v) => { c.feePriorityEnabled = v; }), (c) => c.feePriorityEnabled, ['fee_priority_enabled']),
  def('mempool_mode', ['--mempool-mode'], 'string', `mempool: ${MEMPOOL_MODES.join(', ')} (invariant 4)`,
    (c, t, w) => { c.mempoolMode = parseChoice(w, t, MEMPOOL_MODES); }, (c) => c.mempoolMode),
  def('dag_availability_enabled', ['--enable-dag-availability'], 'boolean', 'DAG availability certificates (invariant 5)',
    bool((c, v) => { c.dagAvailabilityEnabled = v; }), (c) => c.dagAvailabilityEnabled, ['enable_dag_availability']),
  def('network_mode', ['--network-mode'], 'string', `network: ${NETWORK_MODES.join(', ')} (invariant 6)`,
    (c, t, w) => { c.networkMode = parseChoice(w, t, NETWORK_MODES, { localmesh: 'local-mesh' }); }, (c) => c.networkMode),
  def('enable_p2p', ['--enable-p2p'], 'boolean', 'run the P2P stack',
    bool((c, v) => { c.p2pEnabled = v; }), (c) => c.p2pEnabled, ['p2p_enabled']),
  def('enable_stage_b', ['--enable-stage-b'], 'boolean', 'Stage B parallel execution',
    bool((c, v) => { c.stageBEnabled = v; }), (c) => c.stageBEnabled, ['stage_b_enabled']),
  def('data_dir', ['--data-dir'], 'string', 'data directory (invariant 8)',
    path((c, v) => { c.dataDir = v; }), (c) => c.dataDir),
  def('validator_id', ['--validator-id'], 'integer', 'validator id (unsigned 64-bit)',
    (c, t, w) => { c.validatorId = parseU64(w, t); }, (c) => c.validatorId),
  def('monetary_mode', ['--monetary-mode'], 'string', `monetary mode: ${MONETARY_MODES.join(', ')} (invariant 12, runbook §8.2)`,
    (c, t, w) => { c.monetaryMode = parseChoice(w, t, MONETARY_MODES); }, (c) => c.monetaryMode),

  // ---- P2P, runbook §3.5, §7.1, §7.2 ----
  def('p2p.listen_addr', ['--p2p-listen-addr'], 'string', 'P2P listen address host:port',
    (c, t, w) => { c.p2p.listenAddr = parseAddress(w, t); }, (c) => c.p2p.listenAddr),
  def('p2p.advertised_addr', ['--p2p-advertised-addr'], 'string', 'address other peers dial, host:port',
    (c, t, w) => { c.p2p.advertisedAddr = parseAddress(w, t); }, (c) => c.p2p.advertisedAddr),
  def('p2p.bootstrap_peers', ['--bootstrap-peers'], 'list', 'bootstrap peers, host:port[,host:port...]',
    (c, t, w) => { c.p2p.bootstrapPeers = list(t, w); }, (c) => c.p2p.bootstrapPeers),
  def('p2p.discovery_enabled', ['--enable-discovery'], 'boolean', 'dynamic peer discovery (invariant 7)',
    bool((c, v) => { c.p2p.discoveryEnabled = v; }), (c) => c.p2p.discoveryEnabled, ['enable_discovery', 'discovery_enabled']),
  def('p2p.diversity_mode', ['--diversity-mode'], 'string', `peer diversity: ${DIVERSITY_MODES.join(', ')} (invariant 11)`,
    (c, t, w) => { c.p2p.diversityMode = parseChoice(w, t, DIVERSITY_MODES); }, (c) => c.p2p.diversityMode, ['diversity_mode']),
  def('p2p.max_peers_per_prefix24', ['--max-peers-per-prefix24'], 'integer', 'peers per IPv4 /24',
    uint((c, v) => { c.p2p.maxPeersPerPrefix24 = v; }, 1, 1_000_000), (c) => c.p2p.maxPeersPerPrefix24),
  def('p2p.max_peers_per_prefix16', ['--max-peers-per-prefix16'], 'integer', 'peers per IPv4 /16',
    uint((c, v) => { c.p2p.maxPeersPerPrefix16 = v; }, 1, 1_000_000), (c) => c.p2p.maxPeersPerPrefix16),
  def('p2p.max_peers_per_ipv6_prefix48', ['--max-peers-per-ipv6-prefix48'], 'integer', 'peers per IPv6 /48',
    uint((c, v) => { c.p2p.maxPeersPerIpv6Prefix48 = v; }, 1, 1_000_000), (c) => c.p2p.maxPeersPerIpv6Prefix48),
  def('p2p.max_single_bucket_fraction', ['--max-single-bucket-fraction'], 'float', 'largest share of peers in one bucket, (0, 1]',
    (c, t, w) => { c.p2p.maxSingleBucketFraction = parseFraction(w, t); }, (c) => c.p2p.maxSingleBucketFraction),
  def('p2p.outbound_peer_target', ['--outbound-peer-target'], 'integer', 'target outbound connections',
    uint((c, v) => { c.p2p.outboundPeerTarget = v; }, 1, 10_000), (c) => c.p2p.outboundPeerTarget),

  // ---- signer, runbook §3.5, §6.3; design doc §3, §6 ----
  def('signer.mode', ['--signer-mode'], 'string', 'loopback-testing, encrypted-fs, remote-signer, hsm-pkcs11 (also loopback, remote, hsm) (invariant 9)',
    (c, t, w) => { c.signer.mode = parseSignerMode(t, w); }, (c) => c.signer.mode, ['signer_mode']),
  def('signer.failure_mode', ['--signer-failure-mode'], 'string', 'exit-on-failure or log-and-continue (invariant 10)',
    (c, t, w) => { c.signer.failureMode = parseSignerFailureMode(t, w); }, (c) => c.signer.failureMode, ['signer_failure_mode']),
  def('signer.keystore_path', ['--signer-keystore-path', '--keystore-path'], 'string', 'EncryptedFsV1 keystore folder',
    path((c, v) => { c.signer.keystorePath = v; }), (c) => c.signer.keystorePath, ['signer_keystore_path', 'keystore_path']),
  def('signer.keystore_passphrase_env', ['--keystore-passphrase-env'], 'string', 'environment variable holding the keystore passphrase',
    (c, t, w) => { c.signer.keystorePassphraseEnv = parseEnvVarName(w, t); }, (c) => c.signer.keystorePassphraseEnv),
  def('signer.keystore_passphrase_file', ['--keystore-passphrase-file'], 'string', 'file holding the keystore passphrase',
    path((c, v) => { c.signer.keystorePassphraseFile = v; }), (c) => c.signer.keystorePassphraseFile),
  def('signer.remote_signer_url', ['--remote-signer-url', '--remote-signer-addr'], 'string', 'remote signer, kemtls://host:port or host:port',
    (c, t, w) => { c.signer.remoteSignerUrl = parseRemoteSignerUrl(w, t); }, (c) => c.signer.remoteSignerUrl, ['remote_signer_url', 'remote_signer_addr']),
  def('signer.remote_signer_public_key_path', ['--remote-signer-public-key-path'], 'string', "the signer's p2p_identity.pub (its KEMTLS key, pinned)",
    path((c, v) => { c.signer.remoteSignerPublicKeyPath = v; }), (c) => c.signer.remoteSignerPublicKeyPath, ['signer_public_key_path']),
  def('signer.identity_keystore_path', ['--identity-keystore-path'], 'string', "keystore with this node's p2p_identity.key (KEMTLS client key; default <data_dir>/keystore)",
    path((c, v) => { c.signer.identityKeystorePath = v; }), (c) => c.signer.identityKeystorePath, ['identity_keystore_path']),
  def('signer.hsm_config_path', ['--hsm-config-path', '--hsm-config'], 'string', 'hsm.toml of the PKCS#11 signer',
    path((c, v) => { c.signer.hsmConfigPath = v; }), (c) => c.signer.hsmConfigPath, ['hsm_config_path']),
  def('signer.protection_store', ['--signer-protection-store'], 'string', 'double-sign protection store of the local signer modes: file, sqlite:PATH or postgres:// URL (default <data_dir>/signer-protection.sqlite)',
    (c, t) => { c.signer.protectionStore = t; }, (c) => c.signer.protectionStore, ['protection_store']),

  // ---- snapshots, runbook §5.1, §5.3 ----
  def('snapshot_config.enabled', ['--enable-snapshots'], 'boolean', 'take snapshots (invariant 13)',
    bool((c, v) => { c.snapshot.enabled = v; }), (c) => c.snapshot.enabled),
  def('snapshot_config.dir', ['--snapshot-dir'], 'string', 'snapshot folder (default <data_dir>/snapshots)',
    path((c, v) => { c.snapshot.dir = v; }), (c) => c.snapshot.dir, ['snapshot_dir']),
  def('snapshot_config.snapshot_interval_blocks', ['--snapshot-interval'], 'integer', 'blocks between snapshots (invariant 14: 10,000-500,000)',
    uint((c, v) => { c.snapshot.intervalBlocks = v; }, 1), (c) => c.snapshot.intervalBlocks, ['snapshot_interval_blocks']),
  def('snapshot_config.max_snapshots', ['--max-snapshots'], 'integer', 'snapshots kept',
    uint((c, v) => { c.snapshot.maxSnapshots = v; }, 1, 10_000), (c) => c.snapshot.maxSnapshots, ['max_snapshots']),
  def('snapshot_config.fast_sync_snapshot_dir', ['--fast-sync-snapshot-dir'], 'string', 'snapshot to fast-sync from',
    path((c, v) => { c.snapshot.fastSyncSnapshotDir = v; }), (c) => c.snapshot.fastSyncSnapshotDir, ['fast_sync_snapshot_dir']),

  // ---- state retention, runbook §3.5, §5.4 ----
  def('state_retention.mode', ['--state-retention-mode'], 'string', `state retention: ${STATE_RETENTION_MODES.join(', ')}`,
    (c, t, w) => { c.stateRetention.mode = parseChoice(w, t, STATE_RETENTION_MODES, { archival: 'disabled', none: 'disabled' }); },
    (c) => c.stateRetention.mode, ['state_retention_mode']),
  def('state_retention.retain_height', ['--state-retain-height'], 'integer', 'blocks of state kept below the tip',
    (c, t, w) => { c.stateRetention.retainHeight = parseU64(w, t); }, (c) => c.stateRetention.retainHeight, ['state_retain_height', 'retain_height']),

  // ---- mempool, runbook §3.5 ----
  def('mempool.max_pending_txs', ['--mempool-max-pending-txs'], 'integer', 'mempool capacity',
    uint((c, v) => { c.mempool.maxPendingTxs = v; }, 1), (c) => c.mempool.maxPendingTxs),
  def('mempool.eviction_mode', ['--mempool-eviction-mode'], 'string', `eviction rate limiting: ${EVICTION_MODES.join(', ')} (invariant 15)`,
    (c, t, w) => { c.mempool.evictionMode = parseChoice(w, t, EVICTION_MODES); }, (c) => c.mempool.evictionMode),
  def('mempool.eviction_max_per_interval', ['--mempool-eviction-max-per-interval'], 'integer', 'evictions per window',
    uint((c, v) => { c.mempool.evictionMaxPerInterval = v; }, 1), (c) => c.mempool.evictionMaxPerInterval),
  def('mempool.eviction_interval_secs', ['--mempool-eviction-interval-secs'], 'integer', 'window length in seconds',
    uint((c, v) => { c.mempool.evictionIntervalSecs = v; }, 1, 86_400), (c) => c.mempool.evictionIntervalSecs),
];

const BY_FLAG = new Map<string, Setting>();
const BY_KEY = new Map<string, Setting>();
for (const s of SETTINGS) {
  for (const f of s.flags) BY_FLAG.set(f, s);
  for (const k of [s.key, ...s.tomlAliases]) BY_KEY.set(k, s);
}

export function settingByFlag(flag: string): Setting | undefined {
  return BY_FLAG.get(flag);
}

/** The setting of a node.toml key, canonical or alias ('p2p.listen_addr', 'enable_discovery'). */
export function settingByKey(key: string): Setting | undefined {
  return BY_KEY.get(key);
}

export function allFlags(): string[] {
  return [...BY_FLAG.keys()];
}

export function allKeys(): string[] {
  return [...BY_KEY.keys()];
}

/** The [sections] node.toml may have. */
export const TOML_SECTIONS: readonly string[] = [...new Set(SETTINGS.map((s) => s.key).filter((k) => k.includes('.')).map((k) => k.split('.')[0]!))];

/** A setting's value as text, for reports: 'not set' for null, comma-joined lists. */
export function showValue(v: SettingValue): string {
  if (v === null) return 'not set';
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.join(',');
  return String(v);
}

/** Closest known name within a small edit distance (1 per 5 characters, at most 3), for 'did you mean' hints. */
export function closest(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Math.min(3, Math.floor(name.length / 5)) + 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
