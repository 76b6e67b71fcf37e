// Where settings come from: node.toml (same settings as the flags, strict
// keys and types), precedence profile < node.toml < flags, which file is read,
// --print-config round trips, and every kind of bad flag or value is a
// ConfigError with its own code and a message naming the flag or key.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNodeCommandLine } from '../../src/config/command-line.ts';
import { findNodeConfigFile, parseNodeConfigToml, readNodeConfigFile } from '../../src/config/config-file.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadNodeConfig, nodeConfigFromArgs, resolveNodeConfig, describeSource } from '../../src/config/resolve.ts';
import { nodeConfigToToml } from '../../src/config/usage.ts';
import { profileDefaults } from '../../src/config/profiles.ts';

const root = mkdtempSync(join(tmpdir(), 'qbind-config-sources-'));
after(() => rmSync(root, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
};

const STANDARD_FLAGS = [
  '--profile', 'mainnet', '--data-dir', '/data/qbind', '--signer-mode', 'encrypted-fs', '--signer-keystore-path', '/data/qbind/keystore',
  '--validator-id', '42', '--p2p-listen-addr', '0.0.0.0:9000', '--p2p-advertised-addr', 'validator42.qbind.network:9000',
  '--bootstrap-peers', 'mainnet-bootstrap-1.qbind.network:9000,mainnet-bootstrap-2.qbind.network:9000', '--snapshot-dir', '/data/qbind/snapshots',
];

const STANDARD_TOML = `# runbook §3.5 "Starting a Standard MainNet Validator", as node.toml
profile = "mainnet"
data_dir = "/data/qbind"
validator_id = 42

[p2p]
listen_addr = "0.0.0.0:9000"
advertised_addr = "validator42.qbind.network:9000"
bootstrap_peers = ["mainnet-bootstrap-1.qbind.network:9000", "mainnet-bootstrap-2.qbind.network:9000"]

[signer]
mode = "encrypted-fs"
keystore_path = "/data/qbind/keystore"

[snapshot_config]
dir = "/data/qbind/snapshots"
`;

function rejectsCode(fn: () => unknown, code: string, text: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ConfigError && err.code === code && text.test(err.message));
}

test('a node.toml sets the same configuration as the flags', () => {
  const file = parseNodeConfigToml(STANDARD_TOML, 'node.toml');
  assert.deepEqual(resolveNodeConfig({ file }).config, nodeConfigFromArgs(STANDARD_FLAGS));
});

test('precedence: profile defaults, then node.toml, then flags; sources are recorded', () => {
  const file = parseNodeConfigToml('profile = "mainnet"\nmonetary_mode = "active"\n[snapshot_config]\nsnapshot_interval_blocks = 100000\n', '/etc/qbind/node.toml');
  const commandLine = parseNodeCommandLine(['--snapshot-interval', '200000']);
  const r = resolveNodeConfig({ commandLine, file });
  assert.equal(r.config.profile, 'mainnet');
  assert.equal(r.profileSource, 'file');
  assert.equal(r.config.monetaryMode, 'active'); // file over profile (shadow)
  assert.equal(r.config.snapshot.intervalBlocks, 200_000); // flag over file
  assert.equal(r.config.p2p.diversityMode, 'enforce'); // profile
  assert.equal(describeSource(r.sources.get('monetary_mode'), 'mainnet'), '/etc/qbind/node.toml: monetary_mode');
  assert.equal(describeSource(r.sources.get('snapshot_config.snapshot_interval_blocks'), 'mainnet'), 'flag --snapshot-interval');
  assert.equal(describeSource(r.sources.get('p2p.diversity_mode'), 'mainnet'), 'profile mainnet default');
  // --profile on the command line beats the file's profile.
  const devnet = resolveNodeConfig({ commandLine: parseNodeCommandLine(['--profile', 'devnet-v0']), file });
  assert.equal(devnet.config.profile, 'devnet-v0');
  assert.equal(devnet.config.monetaryMode, 'active');
  assert.equal(devnet.config.p2p.diversityMode, 'off');
});

test('no profile anywhere: the environment picks it, else devnet-v0', () => {
  assert.equal(nodeConfigFromArgs(['--env', 'testnet']).profile, 'testnet-beta');
  assert.equal(nodeConfigFromArgs(['--env', 'mainnet']).profile, 'mainnet');
  assert.equal(nodeConfigFromArgs([]).profile, 'devnet-v0');
  assert.deepEqual(nodeConfigFromArgs([]), profileDefaults('devnet-v0'));
  assert.equal(resolveNodeConfig({ file: parseNodeConfigToml('network_environment = "mainnet"\n', 'f') }).profileSource, 'environment');
});

test('node.toml: aliases the runbook uses, and their conflicts', () => {
  const c = resolveNodeConfig({ file: parseNodeConfigToml('enable_discovery = false\ndiversity_mode = "warn"\nsigner_mode = "hsm"\n', 'f') }).config;
  assert.equal(c.p2p.discoveryEnabled, false);
  assert.equal(c.p2p.diversityMode, 'warn');
  assert.equal(c.signer.mode, 'hsm-pkcs11');
  assert.doesNotThrow(() => parseNodeConfigToml('enable_discovery = true\n[p2p]\ndiscovery_enabled = true\n', 'f'));
  rejectsCode(() => parseNodeConfigToml('enable_discovery = true\n[p2p]\ndiscovery_enabled = false\n', 'f'), 'DUPLICATE_SETTING', /p2p\.discovery_enabled/);
});

test('node.toml errors: unknown key (with a hint), wrong type, bad value, not TOML, section misuse, missing file', () => {
  rejectsCode(() => parseNodeConfigToml('gas_enabld = true\n', 'n.toml'), 'UNKNOWN_KEY', /n\.toml: gas_enabld: unknown key \(did you mean gas_enabled\?\)/);
  rejectsCode(() => parseNodeConfigToml('[p2p]\nlisten = "0.0.0.0:9000"\n', 'n.toml'), 'UNKNOWN_KEY', /p2p\.listen/);
  rejectsCode(() => parseNodeConfigToml('[hsm]\nlibrary = "x"\n', 'n.toml'), 'UNKNOWN_KEY', /unknown section \[hsm\] \(node\.toml has \[p2p\], \[signer\]/);
  rejectsCode(() => parseNodeConfigToml('gas_enabled = "true"\n', 'n.toml'), 'BAD_VALUE', /gas_enabled: expected true or false, found a string/);
  rejectsCode(() => parseNodeConfigToml('validator_id = "42"\n', 'n.toml'), 'BAD_VALUE', /expected an integer/);
  rejectsCode(() => parseNodeConfigToml('[p2p]\nbootstrap_peers = [1, 2]\n', 'n.toml'), 'BAD_VALUE', /array of strings/);
  rejectsCode(() => resolveNodeConfig({ file: parseNodeConfigToml('mempool_mode = "lifo"\n', 'n.toml') }), 'BAD_VALUE', /n\.toml: mempool_mode: 'lifo' is not one of fifo, dag/);
  rejectsCode(() => resolveNodeConfig({ file: parseNodeConfigToml('validator_id = -1\n', 'n.toml') }), 'BAD_VALUE', /not an unsigned 64-bit integer/);
  rejectsCode(() => parseNodeConfigToml('data_dir = \n', 'n.toml'), 'CONFIG_FILE_INVALID', /n\.toml: not valid TOML \(line 1/);
  rejectsCode(() => parseNodeConfigToml('p2p = 3\n', 'n.toml'), 'CONFIG_FILE_INVALID', /\[p2p\] section/);
  rejectsCode(() => parseNodeConfigToml('profile = "moonnet"\n', 'n.toml'), 'BAD_VALUE', /unknown network profile 'moonnet'/);
  rejectsCode(() => readNodeConfigFile(join(root, 'absent.toml')), 'CONFIG_FILE_UNREADABLE', /no such file/);
});

test('a u64 validator id beyond 2^53 survives node.toml and flags exactly', () => {
  const big = '18446744073709551615';
  assert.equal(resolveNodeConfig({ file: parseNodeConfigToml(`validator_id = ${big}\n`, 'f') }).config.validatorId, BigInt(big));
  assert.equal(nodeConfigFromArgs(['--validator-id', big]).validatorId, BigInt(big));
  rejectsCode(() => nodeConfigFromArgs(['--validator-id', '18446744073709551616']), 'BAD_VALUE', /--validator-id/);
});

test('--print-config output is a node.toml that reads back to the same configuration', () => {
  for (const argv of [STANDARD_FLAGS, ['--profile', 'devnet-v0'], ['--profile', 'testnet-beta', '--remote-signer-addr', '[::1]:9443', '--signer-mode', 'remote', '--state-retain-height', '123']]) {
    const config = nodeConfigFromArgs(argv);
    const text = nodeConfigToToml(config);
    assert.deepEqual(resolveNodeConfig({ file: parseNodeConfigToml(text, 'printed') }).config, config, text);
  }
  // Runbook §10.4 greps node.toml for state_retention.
  assert.match(nodeConfigToToml(nodeConfigFromArgs(STANDARD_FLAGS)), /^\[state_retention\]$/m);
});

test('runbook §10.2: the sed that fails over to the backup signer works on our node.toml', () => {
  const path = write('failover.toml', 'profile = "mainnet"\n[signer]\nmode = "remote-signer"\nremote_signer_url = "kemtls://signer.internal:9443"\n');
  const r = spawnSync('sed', ['-i', 's/signer.internal/signer-backup.internal/', path]);
  assert.equal(r.status, 0);
  assert.equal(readNodeConfigFile(path).assignments.find((a) => a.setting.key === 'signer.remote_signer_url')?.text, 'kemtls://signer-backup.internal:9443');
  assert.equal(loadNodeConfig(['--config', path]).resolved.config.signer.remoteSignerUrl, 'kemtls://signer-backup.internal:9443');
});

test('which node.toml: --config, else $QBIND_NODE_CONFIG (empty: none), else the default path if it exists', () => {
  const present = write('present.toml', 'profile = "testnet-alpha"\n');
  const absent = join(root, 'absent-default.toml');
  assert.equal(findNodeConfigFile('/x.toml', { QBIND_NODE_CONFIG: present }, present), '/x.toml');
  assert.equal(findNodeConfigFile(null, { QBIND_NODE_CONFIG: present }, absent), present);
  assert.equal(findNodeConfigFile(null, { QBIND_NODE_CONFIG: '' }, present), null);
  assert.equal(findNodeConfigFile(null, {}, present), present);
  assert.equal(findNodeConfigFile(null, {}, absent), null);
  const loaded = loadNodeConfig(['--validator-id', '5'], { env: {}, defaultConfigPath: present });
  assert.equal(loaded.resolved.configFile, present);
  assert.equal(loaded.resolved.config.profile, 'testnet-alpha');
  assert.equal(readFileSync(present, 'utf8'), 'profile = "testnet-alpha"\n', 'reading never changes the file');
});

test('flag errors: each its own code, naming the flag', () => {
  rejectsCode(() => parseNodeCommandLine(['--signer-mod', 'hsm']), 'UNKNOWN_FLAG', /unknown flag --signer-mod \(did you mean --signer-mode\?\)/);
  rejectsCode(() => parseNodeCommandLine(['--bogus']), 'UNKNOWN_FLAG', /^unknown flag --bogus$/);
  rejectsCode(() => parseNodeCommandLine(['--data-dir']), 'MISSING_VALUE', /--data-dir needs a value/);
  rejectsCode(() => parseNodeCommandLine(['--data-dir', '--validate-only']), 'MISSING_VALUE', /--data-dir needs a value/);
  rejectsCode(() => parseNodeCommandLine(['mainnet']), 'UNEXPECTED_ARGUMENT', /unexpected argument 'mainnet'/);
  rejectsCode(() => parseNodeCommandLine(['--signer-mode', 'hsm', '--signer-mode', 'remote']), 'DUPLICATE_SETTING', /signer\.mode given twice/);
  rejectsCode(() => parseNodeCommandLine(['--keystore-path', '/a', '--signer-keystore-path', '/b']), 'DUPLICATE_SETTING', /--keystore-path '\/a' and --signer-keystore-path '\/b'/);
  rejectsCode(() => parseNodeCommandLine(['--profile', 'mainnet', '--profile', 'devnet']), 'DUPLICATE_SETTING', /--profile given twice/);
  rejectsCode(() => parseNodeCommandLine(['--profile', 'moonnet']), 'BAD_VALUE', /--profile: unknown network profile/);
  rejectsCode(() => parseNodeCommandLine(['--output', 'yaml']), 'BAD_VALUE', /--output: 'yaml' is not one of text, json/);
  rejectsCode(() => parseNodeCommandLine(['--validate-only=yes']), 'BAD_VALUE', /takes no value/);
  rejectsCode(() => nodeConfigFromArgs(['--enable-gas', 'yes']), 'BAD_VALUE', /--enable-gas: 'yes' is not true or false/);
  rejectsCode(() => nodeConfigFromArgs(['--snapshot-interval', '5e4']), 'BAD_VALUE', /--snapshot-interval: '5e4' is not a whole number/);
  rejectsCode(() => nodeConfigFromArgs(['--max-snapshots', '0']), 'BAD_VALUE', /out of range/);
  rejectsCode(() => nodeConfigFromArgs(['--p2p-listen-addr', '0.0.0.0']), 'BAD_VALUE', /not host:port/);
  rejectsCode(() => nodeConfigFromArgs(['--p2p-listen-addr', '0.0.0.0:70000']), 'BAD_VALUE', /not host:port/);
  rejectsCode(() => nodeConfigFromArgs(['--bootstrap-peers', 'a.example:9000,bad peer:1']), 'BAD_VALUE', /bad peer:1/);
  rejectsCode(() => nodeConfigFromArgs(['--remote-signer-url', 'https://signer:9443']), 'BAD_VALUE', /not a remote signer address/);
  rejectsCode(() => nodeConfigFromArgs(['--signer-mode', 'yubikey']), 'BAD_VALUE', /--signer-mode: 'yubikey' is not one of loopback-testing, encrypted-fs, remote-signer, hsm-pkcs11/);
  rejectsCode(() => nodeConfigFromArgs(['--keystore-passphrase-env', 'MY-PASS']), 'BAD_VALUE', /not an environment variable name/);
  rejectsCode(() => nodeConfigFromArgs(['--max-single-bucket-fraction', '1.5']), 'BAD_VALUE', /fraction in \(0, 1\]/);
});

test('accepted spellings: --flag=value, the seeds\' signer mode names, repeated list flags, same value twice', () => {
  const spellings: [string, string][] = [['loopback', 'loopback-testing'], ['LoopbackTesting', 'loopback-testing'], ['EncryptedFsV1', 'encrypted-fs'], ['encrypted_fs', 'encrypted-fs'], ['remote', 'remote-signer'], ['RemoteSigner', 'remote-signer'], ['hsm', 'hsm-pkcs11'], ['HsmPkcs11', 'hsm-pkcs11']];
  for (const [text, mode] of spellings) assert.equal(nodeConfigFromArgs([`--signer-mode=${text}`]).signer.mode, mode, text);
  assert.equal(nodeConfigFromArgs(['--signer-failure-mode', 'ExitOnFailure']).signer.failureMode, 'exit-on-failure');
  assert.equal(nodeConfigFromArgs(['--signer-failure-mode', 'LogAndContinue']).signer.failureMode, 'log-and-continue');
  assert.equal(nodeConfigFromArgs(['--env', 'MainNet']).environment, 'mainnet');
  assert.deepEqual(nodeConfigFromArgs(['--bootstrap-peers', 'a.example:1', '--bootstrap-peers', 'b.example:2,[2001:db8::1]:3']).p2p.bootstrapPeers, ['a.example:1', 'b.example:2', '[2001:db8::1]:3']);
  assert.equal(nodeConfigFromArgs(['--data-dir', '/d', '--data-dir', '/d']).dataDir, '/d');
  assert.equal(nodeConfigFromArgs(['--state-retention-mode', 'archival']).stateRetention.mode, 'disabled');
});

test('docs/node-config.md documents every setting (key, aliases, flags) and --help lists every flag', async () => {
  const { SETTINGS } = await import('../../src/config/settings.ts');
  const { nodeUsage } = await import('../../src/config/usage.ts');
  const doc = readFileSync(new URL('../../docs/node-config.md', import.meta.url), 'utf8');
  const help = nodeUsage();
  for (const s of SETTINGS) {
    for (const name of [s.key, ...s.tomlAliases]) assert.ok(doc.includes(`\`${name}\``), `${name} documented`);
    for (const f of s.flags) {
      assert.ok(doc.includes(`\`${f}\``), `${f} documented`);
      assert.ok(help.includes(f), `${f} in --help`);
    }
  }
});
