// Every qbind-node command line of the runbook and the design doc parses to
// the expected configuration (built here by hand from the profile defaults,
// not by the parser). When the seeds are present (../shared/seeds), the test
// also extracts every qbind-node command line from them and checks that this
// list holds exactly those, so a command added to the seeds fails here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { nodeConfigFromArgs, resolveNodeConfig } from '../../src/config/resolve.ts';
import { parseNodeConfigToml } from '../../src/config/config-file.ts';
import { nodeConfigToToml } from '../../src/config/usage.ts';
import { parseNodeCommandLine } from '../../src/config/command-line.ts';
import { profileDefaults } from '../../src/config/profiles.ts';
import { validateMainnetInvariants } from '../../src/config/invariants.ts';
import type { NodeConfig } from '../../src/config/node-config.ts';

const SEEDS = fileURLToPath(new URL('../../../shared/seeds/', import.meta.url));

/** Splits a command line written with backslash continuations into argv (the seeds use no quotes). */
function argvOf(command: string): string[] {
  const words = command.replace(/\\\n/g, ' ').trim().split(/\s+/);
  assert.equal(words[0], 'qbind-node');
  return words.slice(1);
}

function mainnet(edit: (c: NodeConfig) => void): NodeConfig {
  const c = profileDefaults('mainnet');
  edit(c);
  return c;
}

interface Case {
  where: string;
  command: string;
  expected: NodeConfig;
  /** Invariant numbers validate_mainnet_invariants reports for it (MainNet commands). */
  mainnetViolations?: number[];
}

const CASES: Case[] = [
  {
    where: 'runbook §3.1',
    command: 'qbind-node --profile mainnet --data-dir /data/qbind',
    expected: mainnet((c) => { c.dataDir = '/data/qbind'; c.snapshot.dir = '/data/qbind/snapshots'; }),
    mainnetViolations: [9],
  },
  {
    where: 'runbook §3.1 (long form)',
    command: `qbind-node \\
  --env mainnet \\
  --execution-profile vm-v0 \\
  --enable-gas true \\
  --enable-fee-priority true \\
  --mempool-mode dag \\
  --enable-dag-availability true \\
  --network-mode p2p \\
  --enable-p2p true \\
  --enable-stage-b true \\
  --enable-discovery true \\
  --data-dir /data/qbind`,
    expected: mainnet((c) => { c.dataDir = '/data/qbind'; c.snapshot.dir = '/data/qbind/snapshots'; }),
    mainnetViolations: [9],
  },
  {
    where: 'runbook §3.5 standard validator',
    command: `qbind-node \\
  --profile mainnet \\
  --data-dir /data/qbind \\
  --signer-mode encrypted-fs \\
  --signer-keystore-path /data/qbind/keystore \\
  --validator-id 42 \\
  --p2p-listen-addr 0.0.0.0:9000 \\
  --p2p-advertised-addr validator42.qbind.network:9000 \\
  --bootstrap-peers mainnet-bootstrap-1.qbind.network:9000,mainnet-bootstrap-2.qbind.network:9000 \\
  --snapshot-dir /data/qbind/snapshots`,
    expected: mainnet((c) => {
      c.dataDir = '/data/qbind';
      c.signer.mode = 'encrypted-fs';
      c.signer.keystorePath = '/data/qbind/keystore';
      c.signer.protectionStore = '/data/qbind/signer-protection.sqlite';
      c.validatorId = 42n;
      c.p2p.listenAddr = '0.0.0.0:9000';
      c.p2p.advertisedAddr = 'validator42.qbind.network:9000';
      c.p2p.bootstrapPeers = ['mainnet-bootstrap-1.qbind.network:9000', 'mainnet-bootstrap-2.qbind.network:9000'];
      c.snapshot.dir = '/data/qbind/snapshots';
    }),
    mainnetViolations: [],
  },
  {
    where: 'runbook §3.5 HSM',
    command: `qbind-node \\
  --profile mainnet \\
  --data-dir /data/qbind \\
  --signer-mode hsm-pkcs11 \\
  --hsm-config-path /etc/qbind/hsm.toml \\
  --validator-id 42 \\
  --p2p-listen-addr 0.0.0.0:9000 \\
  --bootstrap-peers mainnet-bootstrap-1.qbind.network:9000`,
    expected: mainnet((c) => {
      c.dataDir = '/data/qbind';
      c.signer.mode = 'hsm-pkcs11';
      c.signer.hsmConfigPath = '/etc/qbind/hsm.toml';
      c.signer.protectionStore = '/data/qbind/signer-protection.sqlite';
      c.validatorId = 42n;
      c.p2p.bootstrapPeers = ['mainnet-bootstrap-1.qbind.network:9000'];
      c.snapshot.dir = '/data/qbind/snapshots';
    }),
    mainnetViolations: [],
  },
  {
    where: 'runbook §3.5 remote signer',
    command: `qbind-node \\
  --profile mainnet \\
  --data-dir /data/qbind \\
  --signer-mode remote-signer \\
  --remote-signer-url kemtls://signer.internal:9443 \\
  --validator-id 42 \\
  --p2p-listen-addr 0.0.0.0:9000`,
    expected: mainnet((c) => {
      c.dataDir = '/data/qbind';
      c.signer.mode = 'remote-signer';
      c.signer.remoteSignerUrl = 'kemtls://signer.internal:9443';
      c.signer.identityKeystorePath = '/data/qbind/keystore';
      c.validatorId = 42n;
      c.snapshot.dir = '/data/qbind/snapshots';
    }),
    mainnetViolations: [],
  },
  {
    where: 'runbook §3.5 state retention',
    command: `qbind-node \\
  --profile mainnet \\
  --data-dir /data/qbind \\
  --state-retention-mode height \\
  --state-retain-height 1000000 \\
  --snapshot-dir /mnt/snapshots \\
  --snapshot-interval 100000`,
    expected: mainnet((c) => {
      c.dataDir = '/data/qbind';
      c.stateRetention = { mode: 'height', retainHeight: 1_000_000n };
      c.snapshot.dir = '/mnt/snapshots';
      c.snapshot.intervalBlocks = 100_000;
    }),
    mainnetViolations: [9],
  },
  {
    where: 'runbook §4.3 cold start',
    command: `qbind-node \\
  --profile mainnet \\
  --data-dir /data/qbind \\
  --signer-mode encrypted-fs \\
  --signer-keystore-path /data/qbind/keystore \\
  --validator-id 42 \\
  --bootstrap-peers mainnet-genesis.qbind.network:9000`,
    expected: mainnet((c) => {
      c.dataDir = '/data/qbind';
      c.signer.mode = 'encrypted-fs';
      c.signer.keystorePath = '/data/qbind/keystore';
      c.signer.protectionStore = '/data/qbind/signer-protection.sqlite';
      c.validatorId = 42n;
      c.p2p.bootstrapPeers = ['mainnet-genesis.qbind.network:9000'];
      c.snapshot.dir = '/data/qbind/snapshots';
    }),
    mainnetViolations: [],
  },
  {
    where: 'runbook §4.3 fast sync',
    command: `qbind-node \\
  --profile mainnet \\
  --data-dir /data/qbind \\
  --fast-sync-snapshot-dir /data/qbind/snapshots/500000 \\
  --signer-mode encrypted-fs \\
  --signer-keystore-path /data/qbind/keystore \\
  --validator-id 42`,
    expected: mainnet((c) => {
      c.dataDir = '/data/qbind';
      c.snapshot.fastSyncSnapshotDir = '/data/qbind/snapshots/500000';
      c.signer.mode = 'encrypted-fs';
      c.signer.keystorePath = '/data/qbind/keystore';
      c.signer.protectionStore = '/data/qbind/signer-protection.sqlite';
      c.validatorId = 42n;
      c.snapshot.dir = '/data/qbind/snapshots';
    }),
    mainnetViolations: [],
  },
  {
    where: 'runbook §5.1',
    command: `qbind-node \\
  --profile mainnet \\
  --snapshot-dir /data/qbind/snapshots \\
  --snapshot-interval 50000 \\
  --max-snapshots 5`,
    expected: mainnet((c) => { c.snapshot.dir = '/data/qbind/snapshots'; }),
    mainnetViolations: [8, 9],
  },
  {
    where: 'runbook §5.3 step 4',
    command: `qbind-node \\
     --profile mainnet \\
     --data-dir /data/qbind \\
     --fast-sync-snapshot-dir /data/qbind/snapshots/500000`,
    expected: mainnet((c) => {
      c.dataDir = '/data/qbind';
      c.snapshot.dir = '/data/qbind/snapshots';
      c.snapshot.fastSyncSnapshotDir = '/data/qbind/snapshots/500000';
    }),
    mainnetViolations: [9],
  },
  {
    where: 'runbook §8.2',
    command: 'qbind-node --profile mainnet --monetary-mode shadow',
    expected: mainnet((c) => { c.monetaryMode = 'shadow'; }),
    mainnetViolations: [8, 9],
  },
  {
    where: 'runbook §11.2',
    command: 'qbind-node --profile mainnet --validate-only --data-dir /data/qbind',
    expected: mainnet((c) => { c.dataDir = '/data/qbind'; c.snapshot.dir = '/data/qbind/snapshots'; }),
    mainnetViolations: [9],
  },
  {
    where: 'design doc §3.5',
    command: 'qbind-node --signer-mode hsm-pkcs11 --hsm-config-path /etc/qbind/hsm.toml',
    expected: (() => {
      const c = profileDefaults('devnet-v0');
      c.signer.mode = 'hsm-pkcs11';
      c.signer.hsmConfigPath = '/etc/qbind/hsm.toml';
      return c;
    })(),
  },
  {
    where: 'design doc §6.2',
    command: `qbind-node --profile devnet-v0 \\
    --signer-mode loopback \\
    --keystore-path ./test-keys`,
    expected: (() => {
      const c = profileDefaults('devnet-v0');
      c.signer.mode = 'loopback-testing';
      c.signer.keystorePath = './test-keys';
      return c;
    })(),
  },
  {
    where: 'design doc §6.3',
    command: `qbind-node --profile testnet-alpha \\
    --signer-mode encrypted-fs \\
    --keystore-path /data/qbind/keystore \\
    --keystore-passphrase-file /etc/qbind/passphrase`,
    expected: (() => {
      const c = profileDefaults('testnet-alpha');
      c.signer.mode = 'encrypted-fs';
      c.signer.keystorePath = '/data/qbind/keystore';
      c.signer.keystorePassphraseFile = '/etc/qbind/passphrase';
      return c;
    })(),
  },
  {
    where: 'design doc §6.4',
    command: `qbind-node --profile testnet-beta \\
    --signer-mode remote \\
    --remote-signer-addr localhost:9443 \\
    --data-dir /data/qbind`,
    expected: (() => {
      const c = profileDefaults('testnet-beta');
      c.signer.mode = 'remote-signer';
      c.signer.remoteSignerUrl = 'kemtls://localhost:9443';
      c.signer.identityKeystorePath = '/data/qbind/keystore';
      c.dataDir = '/data/qbind';
      c.snapshot.dir = '/data/qbind/snapshots';
      return c;
    })(),
  },
  {
    where: 'design doc §6.5',
    command: `qbind-node --profile mainnet \\
    --signer-mode hsm \\
    --hsm-config /etc/qbind/hsm.toml \\
    --data-dir /data/qbind \\
    --p2p-listen-addr 0.0.0.0:9000`,
    expected: mainnet((c) => {
      c.signer.mode = 'hsm-pkcs11';
      c.signer.hsmConfigPath = '/etc/qbind/hsm.toml';
      c.signer.protectionStore = '/data/qbind/signer-protection.sqlite';
      c.dataDir = '/data/qbind';
      c.snapshot.dir = '/data/qbind/snapshots';
    }),
    // No --validator-id: the signer cannot start (invariant 16, not a §3.2 invariant).
    mainnetViolations: [],
  },
];

for (const c of CASES) {
  test(`${c.where}: ${c.command.split('\n')[0]}... parses to the expected config`, () => {
    const config = nodeConfigFromArgs(argvOf(c.command));
    assert.deepEqual(config, c.expected);
    if (c.mainnetViolations) assert.deepEqual(validateMainnetInvariants(config).map((v) => v.invariant), c.mainnetViolations);
    // The same configuration as a node.toml (what --print-config writes) reads back identically.
    assert.deepEqual(resolveNodeConfig({ file: parseNodeConfigToml(nodeConfigToToml(config), 'node.toml') }).config, c.expected);
  });
}

test('runbook §3.1: the long form and --profile mainnet give the same configuration', () => {
  assert.deepEqual(nodeConfigFromArgs(argvOf(CASES[1]!.command)), nodeConfigFromArgs(argvOf(CASES[0]!.command)));
});

test('runbook §11.2: --validate-only is a command switch, not a setting', () => {
  const cl = parseNodeCommandLine(argvOf(CASES[11]!.command));
  assert.equal(cl.validateOnly, true);
  assert.equal(cl.profile, 'mainnet');
  assert.deepEqual(cl.assignments.map((a) => a.setting.key), ['data_dir']);
});

test('runbook §3.5 mempool flags (written as --flag=value fragments) apply on top of a command', () => {
  const base = ['--profile', 'mainnet', '--data-dir', '/data/qbind'];
  const rec = nodeConfigFromArgs([...base, '--mempool-eviction-mode=enforce', '--mempool-eviction-max-per-interval=1000', '--mempool-eviction-interval-secs=10']);
  assert.deepEqual(rec, nodeConfigFromArgs(base), 'the recommended values are the MainNet defaults');
  assert.equal(nodeConfigFromArgs([...base, '--mempool-eviction-max-per-interval=2000']).mempool.evictionMaxPerInterval, 2000);
  assert.equal(nodeConfigFromArgs([...base, '--mempool-max-pending-txs=20000']).mempool.maxPendingTxs, 20000);
  const off = nodeConfigFromArgs([...base, '--signer-mode', 'hsm-pkcs11', '--mempool-eviction-mode=off']);
  assert.deepEqual(validateMainnetInvariants(off).map((v) => v.invariant), [15], 'runbook §3.5: eviction off fails startup');
});

/** Every qbind-node command line in a seed file: lines starting with qbind-node, joined over backslash continuations. */
function extract(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*qbind-node(\s|$)/.test(lines[i]!)) continue;
    let cmd = lines[i]!.trim();
    while (cmd.endsWith('\\') && i + 1 < lines.length) cmd = `${cmd.slice(0, -1).trim()} ${lines[++i]!.trim()}`;
    out.push(cmd);
  }
  return out;
}

test('the list above holds exactly the qbind-node command lines of the seeds', { skip: !existsSync(SEEDS) && 'seeds not present' }, () => {
  const found = readdirSync(SEEDS).filter((f) => /^00[01]_.*\.txt$/.test(f)).flatMap((f) => extract(readFileSync(join(SEEDS, f), 'utf8')));
  const normalize = (cmd: string): string => argvOf(cmd).join(' ');
  assert.equal(found.length, CASES.length, `seed commands:\n${found.join('\n')}`);
  assert.deepEqual(new Set(found.map(normalize)), new Set(CASES.map((c) => normalize(c.command))));
});
