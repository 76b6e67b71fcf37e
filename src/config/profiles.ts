// Network profiles (runbook §3.1, design doc §6) and the environment each
// belongs to, with the full default NodeConfig of each profile. The profile is
// the first layer of a configuration: node.toml and then flags change it.
// docs/node-config.md has the table of these defaults and why.

import { QbindError } from '../errors.ts';
import type { NetworkEnvironment } from '../preimage/chain-id.ts';
import { SignerFailureMode, SignerMode } from '../signer/validator-signer.ts';
import { DEFAULT_PASSPHRASE_ENV, type NodeConfig } from './node-config.ts';

export type ProfileName = 'devnet-v0' | 'testnet-alpha' | 'testnet-beta' | 'mainnet';
export const PROFILE_NAMES: readonly ProfileName[] = ['devnet-v0', 'testnet-alpha', 'testnet-beta', 'mainnet'];

const ENVIRONMENT: Record<ProfileName, NetworkEnvironment> = {
  'devnet-v0': 'devnet',
  'testnet-alpha': 'testnet',
  'testnet-beta': 'testnet',
  mainnet: 'mainnet',
};

export function environmentOf(profile: ProfileName): NetworkEnvironment {
  return ENVIRONMENT[profile];
}

/** Accepts the profile names and the short forms devnet, alpha, beta. */
export function parseProfileName(text: string): ProfileName {
  const t = text.trim().toLowerCase();
  const alias: Record<string, ProfileName> = { devnet: 'devnet-v0', alpha: 'testnet-alpha', beta: 'testnet-beta', 'mainnet-v0': 'mainnet' };
  const name = (PROFILE_NAMES as readonly string[]).includes(t) ? (t as ProfileName) : alias[t];
  if (!name) throw new QbindError('BAD_PROFILE', `unknown network profile '${text}' (known: ${PROFILE_NAMES.join(', ')})`);
  return name;
}

/**
 * The base profile when none is named: the one of the environment given
 * (devnet -> devnet-v0, testnet -> testnet-beta, mainnet -> mainnet), so that
 * runbook §3.1's long form (--env mainnet ...) equals --profile mainnet.
 */
export function profileForEnvironment(env: NetworkEnvironment): ProfileName {
  return env === 'devnet' ? 'devnet-v0' : env === 'testnet' ? 'testnet-beta' : 'mainnet';
}

interface ProfileRow {
  executionProfile: NodeConfig['executionProfile'];
  on: boolean; // gas, fee priority, DAG availability, stage B
  mempoolMode: NodeConfig['mempoolMode'];
  networkMode: NodeConfig['networkMode'];
  discovery: boolean;
  listenAddr: string;
  diversityMode: NodeConfig['p2p']['diversityMode'];
  signerMode: SignerMode | null;
  monetaryMode: NodeConfig['monetaryMode'];
  snapshots: boolean;
  retention: NodeConfig['stateRetention']['mode'];
  evictionMode: NodeConfig['mempool']['evictionMode'];
}

const ROWS: Record<ProfileName, ProfileRow> = {
  'devnet-v0': {
    executionProfile: 'nonce-only', on: false, mempoolMode: 'fifo', networkMode: 'local-mesh', discovery: false, listenAddr: '127.0.0.1:9000',
    diversityMode: 'off', signerMode: SignerMode.LoopbackTesting, monetaryMode: 'off', snapshots: false, retention: 'disabled', evictionMode: 'off',
  },
  'testnet-alpha': {
    executionProfile: 'vm-v0', on: false, mempoolMode: 'fifo', networkMode: 'p2p', discovery: false, listenAddr: '0.0.0.0:9000',
    diversityMode: 'warn', signerMode: SignerMode.LoopbackTesting, monetaryMode: 'off', snapshots: false, retention: 'disabled', evictionMode: 'warn',
  },
  'testnet-beta': {
    executionProfile: 'vm-v0', on: true, mempoolMode: 'dag', networkMode: 'p2p', discovery: true, listenAddr: '0.0.0.0:9000',
    diversityMode: 'warn', signerMode: SignerMode.EncryptedFsV1, monetaryMode: 'shadow', snapshots: true, retention: 'height', evictionMode: 'enforce',
  },
  mainnet: {
    executionProfile: 'vm-v0', on: true, mempoolMode: 'dag', networkMode: 'p2p', discovery: true, listenAddr: '0.0.0.0:9000',
    diversityMode: 'enforce', signerMode: null, monetaryMode: 'shadow', snapshots: true, retention: 'height', evictionMode: 'enforce',
  },
};

/** A fresh NodeConfig holding the defaults of a profile. */
export function profileDefaults(profile: ProfileName): NodeConfig {
  const r = ROWS[profile];
  return {
    profile,
    environment: environmentOf(profile),
    executionProfile: r.executionProfile,
    gasEnabled: r.on,
    feePriorityEnabled: r.on,
    mempoolMode: r.mempoolMode,
    dagAvailabilityEnabled: r.on,
    networkMode: r.networkMode,
    p2pEnabled: r.networkMode === 'p2p',
    stageBEnabled: r.on,
    dataDir: null,
    validatorId: null,
    monetaryMode: r.monetaryMode,
    p2p: {
      listenAddr: r.listenAddr,
      advertisedAddr: null,
      bootstrapPeers: [],
      discoveryEnabled: r.discovery,
      diversityMode: r.diversityMode,
      // Runbook §7.1 and §7.2.
      maxPeersPerPrefix24: 2,
      maxPeersPerPrefix16: 8,
      maxPeersPerIpv6Prefix48: 4,
      maxSingleBucketFraction: 0.25,
      outboundPeerTarget: 8,
    },
    signer: {
      mode: r.signerMode,
      // Fail closed everywhere; log-and-continue only when asked (runbook §6.3).
      failureMode: SignerFailureMode.ExitOnFailure,
      keystorePath: null,
      keystorePassphraseEnv: DEFAULT_PASSPHRASE_ENV,
      keystorePassphraseFile: null,
      remoteSignerUrl: null,
      remoteSignerPublicKeyPath: null,
      identityKeystorePath: null,
      hsmConfigPath: null,
      protectionStore: null,
    },
    // Runbook §5.1 (interval 50,000, 5 snapshots) and §5.4 (validator retain height 500,000).
    snapshot: { enabled: r.snapshots, dir: null, intervalBlocks: 50_000, maxSnapshots: 5, fastSyncSnapshotDir: null },
    stateRetention: { mode: r.retention, retainHeight: 500_000n },
    // Runbook §3.5 (1000 per 10 s window); 10,000 pending transactions (the runbook's "increase to 20000" doubles it).
    mempool: { maxPendingTxs: 10_000, evictionMode: r.evictionMode, evictionMaxPerInterval: 1000, evictionIntervalSecs: 10 },
  };
}
