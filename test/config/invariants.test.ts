// validate_mainnet_invariants: a valid MainNet configuration (runbook §3.5's
// standard validator) passes; each invariant broken alone, by the flag an
// operator would type, gives exactly that violation with the value found and
// a fix; several broken at once are all reported. Plus the signer-mode matrix
// of design doc §6.1, table-driven, and its warnings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeConfigFromArgs, resolveNodeConfig } from '../../src/config/resolve.ts';
import { parseNodeCommandLine } from '../../src/config/command-line.ts';
import { checkSignerSettings, SIGNER_MODE_POLICY, signerWarnings, validateMainnetInvariants, type SignerModePolicy } from '../../src/config/invariants.ts';
import { profileDefaults, PROFILE_NAMES, type ProfileName } from '../../src/config/profiles.ts';
import { validateNodeConfig } from '../../src/config/validate.ts';
import { SignerMode } from '../../src/signer/validator-signer.ts';

const VALID = [
  '--profile', 'mainnet', '--data-dir', '/data/qbind', '--signer-mode', 'encrypted-fs', '--signer-keystore-path', '/data/qbind/keystore',
  '--validator-id', '42', '--p2p-listen-addr', '0.0.0.0:9000', '--snapshot-dir', '/data/qbind/snapshots',
];

function without(argv: string[], flag: string): string[] {
  const i = argv.indexOf(flag);
  assert.ok(i >= 0);
  return [...argv.slice(0, i), ...argv.slice(i + 2)];
}

test('the runbook §3.5 standard validator passes every invariant', async () => {
  const config = nodeConfigFromArgs(VALID);
  assert.deepEqual(validateMainnetInvariants(config), []);
  assert.deepEqual(checkSignerSettings(config), []);
  const report = await validateNodeConfig(config, { outside: false });
  assert.equal(report.valid, true);
  assert.deepEqual(report.violations, []);
  assert.deepEqual(report.checks.filter((c) => Number(c.id) <= 16).map((c) => c.status), Array(16).fill('passed'));
  assert.deepEqual(report.checks.filter((c) => Number(c.id) > 16).map((c) => c.status), ['not-checked', 'not-checked', 'not-checked']);
  assert.deepEqual(report.warnings.map((w) => w.code), ['W2'], 'encrypted-fs on MainNet: harden the host');
});

const BROKEN: { n: number; argv: string[]; found: string; fix: RegExp }[] = [
  { n: 1, argv: [...VALID, '--env', 'testnet'], found: 'testnet', fix: /--env mainnet/ },
  { n: 2, argv: [...VALID, '--enable-gas', 'false'], found: 'false', fix: /--enable-gas true/ },
  { n: 3, argv: [...VALID, '--enable-fee-priority', 'false'], found: 'false', fix: /--enable-fee-priority true/ },
  { n: 4, argv: [...VALID, '--mempool-mode', 'fifo'], found: 'fifo', fix: /--mempool-mode dag/ },
  { n: 5, argv: [...VALID, '--enable-dag-availability', 'false'], found: 'false', fix: /--enable-dag-availability true/ },
  { n: 6, argv: [...VALID, '--network-mode', 'local-mesh'], found: 'local-mesh', fix: /--network-mode p2p/ },
  { n: 7, argv: [...VALID, '--enable-discovery', 'false'], found: 'false', fix: /--enable-discovery true/ },
  { n: 8, argv: without(VALID, '--data-dir'), found: 'not set', fix: /--data-dir/ },
  { n: 9, argv: [...without(VALID, '--signer-mode'), '--signer-mode', 'loopback'], found: 'loopback-testing', fix: /hsm-pkcs11\|remote-signer\|encrypted-fs/ },
  { n: 10, argv: [...VALID, '--signer-failure-mode', 'log-and-continue'], found: 'log-and-continue', fix: /--signer-failure-mode exit-on-failure/ },
  { n: 11, argv: [...VALID, '--diversity-mode', 'warn'], found: 'warn', fix: /--diversity-mode enforce/ },
  { n: 12, argv: [...VALID, '--monetary-mode', 'off'], found: 'off', fix: /--monetary-mode shadow/ },
  { n: 13, argv: [...VALID, '--enable-snapshots', 'false'], found: 'false', fix: /--enable-snapshots true/ },
  { n: 14, argv: [...VALID, '--snapshot-interval', '9999'], found: '9999', fix: /--snapshot-interval 50000/ },
  { n: 14, argv: [...VALID, '--snapshot-interval', '500001'], found: '500001', fix: /--snapshot-interval/ },
  { n: 15, argv: [...VALID, '--mempool-eviction-mode', 'off'], found: 'off', fix: /--mempool-eviction-mode enforce/ },
  { n: 16, argv: without(VALID, '--validator-id'), found: 'not set', fix: /--validator-id/ },
];

for (const b of BROKEN) {
  test(`invariant ${b.n} broken alone (${b.argv.slice(-2).join(' ')}) gives exactly that violation`, async () => {
    const config = nodeConfigFromArgs(b.argv);
    const report = await validateNodeConfig(config, { outside: false });
    assert.equal(report.valid, false);
    assert.deepEqual(report.violations.map((v) => v.invariant), [b.n]);
    const v = report.violations[0]!;
    assert.equal(v.found, b.found);
    assert.match(v.fix, b.fix);
    assert.ok(v.expected.length > 0);
    assert.deepEqual(report.checks.filter((c) => c.status === 'failed').map((c) => c.id), [String(b.n)]);
  });
}

test('snapshot interval bounds are inclusive: 10,000 and 500,000 pass', () => {
  for (const n of ['10000', '500000']) assert.deepEqual(validateMainnetInvariants(nodeConfigFromArgs([...VALID, '--snapshot-interval', n])), []);
});

test('all violations are reported at once, in invariant order, with where each value came from', async () => {
  const argv = [...without(without(VALID, '--data-dir'), '--signer-mode'), '--signer-mode', 'loopback', '--enable-gas', 'false', '--monetary-mode', 'off', '--snapshot-interval', '5'];
  const report = await validateNodeConfig(resolveNodeConfig({ commandLine: parseNodeCommandLine(argv) }), { outside: false });
  assert.deepEqual(report.violations.map((v) => v.invariant), [2, 8, 9, 12, 14]);
  assert.equal(report.violations.find((v) => v.invariant === 2)!.source, 'flag --enable-gas');
  assert.equal(report.violations.find((v) => v.invariant === 8)!.source, 'profile mainnet default');
});

test('--profile mainnet with another --env is judged by the MainNet rules (fails invariant 1)', () => {
  const config = nodeConfigFromArgs([...VALID, '--env', 'devnet']);
  assert.deepEqual(validateMainnetInvariants(config).map((v) => v.invariant), [1]);
  // And a devnet profile pointed at the mainnet environment is judged as MainNet too.
  const other = nodeConfigFromArgs(['--profile', 'devnet-v0', '--env', 'mainnet', '--validator-id', '1']);
  assert.ok(validateMainnetInvariants(other).length >= 10);
});

// Design doc §6.1, transcribed: ✅ allowed, ⚠️ discouraged, ❌ forbidden.
const MATRIX: Record<SignerMode, Record<ProfileName, SignerModePolicy>> = {
  'loopback-testing': { 'devnet-v0': 'allowed', 'testnet-alpha': 'allowed', 'testnet-beta': 'discouraged', mainnet: 'forbidden' },
  'encrypted-fs': { 'devnet-v0': 'allowed', 'testnet-alpha': 'allowed', 'testnet-beta': 'allowed', mainnet: 'allowed' },
  'remote-signer': { 'devnet-v0': 'allowed', 'testnet-alpha': 'allowed', 'testnet-beta': 'allowed', mainnet: 'allowed' },
  'hsm-pkcs11': { 'devnet-v0': 'allowed', 'testnet-alpha': 'allowed', 'testnet-beta': 'allowed', mainnet: 'allowed' },
};

const OPTIONS: Record<SignerMode, string[]> = {
  'loopback-testing': [],
  'encrypted-fs': ['--signer-keystore-path', '/data/qbind/keystore'],
  'remote-signer': ['--remote-signer-url', 'kemtls://signer.internal:9443', '--remote-signer-public-key-path', '/etc/qbind/signer_identity.pub'],
  'hsm-pkcs11': ['--hsm-config-path', '/etc/qbind/hsm.toml'],
};

for (const mode of Object.values(SignerMode)) {
  for (const profile of PROFILE_NAMES) {
    const expected = MATRIX[mode][profile];
    test(`design doc §6.1: ${mode} on ${profile} is ${expected}`, async () => {
      assert.equal(SIGNER_MODE_POLICY[profile][mode], expected);
      // Start from a configuration valid for the profile, change only the signer.
      const base = profile === 'mainnet' ? without(without(VALID, '--signer-mode'), '--signer-keystore-path') : ['--profile', profile, '--validator-id', '42', '--data-dir', '/data/qbind'];
      const config = nodeConfigFromArgs([...base, '--signer-mode', mode, ...OPTIONS[mode]]);
      const report = await validateNodeConfig(config, { outside: false });
      const codes = report.violations.map((v) => v.invariant);
      const w1 = report.warnings.filter((w) => w.code === 'W1');
      if (expected === 'forbidden') {
        assert.deepEqual(codes, [9]);
      } else {
        assert.deepEqual(codes, [], JSON.stringify(report.violations));
      }
      assert.equal(w1.length, expected === 'discouraged' ? 1 : 0);
      assert.equal(report.warnings.some((w) => w.code === 'W2'), mode === 'encrypted-fs' && profile === 'mainnet');
    });
  }
}

test('W1: loopback on TestNet Beta is a warning that names the network and the alternative', () => {
  const config = nodeConfigFromArgs(['--profile', 'testnet-beta', '--signer-mode', 'loopback', '--validator-id', '7']);
  const [w] = signerWarnings(config);
  assert.equal(w?.code, 'W1');
  assert.match(w!.message, /testnet-beta/);
  assert.match(w!.message, /encrypted-fs or remote-signer/);
});

test('invariant 16: each signer mode names the setting it lacks', () => {
  const cases: [SignerMode, string[]][] = [
    ['remote-signer', ['signer.remote_signer_url', 'signer.remote_signer_public_key_path', 'signer.identity_keystore_path']],
    ['hsm-pkcs11', ['signer.hsm_config_path']],
    ['encrypted-fs', ['signer.keystore_path']],
  ];
  for (const [mode, keys] of cases) {
    const config = profileDefaults('testnet-alpha');
    config.signer.mode = mode;
    config.validatorId = 1n;
    const v = checkSignerSettings(config);
    assert.deepEqual(v.map((x) => [x.invariant, x.setting, x.found]), keys.map((k) => [16, k, 'not set']), mode);
  }
  // remote-signer with a data dir: the identity keystore defaults to <data_dir>/keystore.
  const remote = nodeConfigFromArgs(['--profile', 'testnet-beta', '--data-dir', '/srv/q', '--validator-id', '1', '--signer-mode', 'remote', '--remote-signer-addr', 'localhost:9443', '--remote-signer-public-key-path', '/etc/qbind/signer.pub']);
  assert.equal(remote.signer.identityKeystorePath, '/srv/q/keystore');
  assert.deepEqual(checkSignerSettings(remote), []);
  // encrypted-fs with a data dir needs no explicit keystore path: <data_dir>/keystore.
  const derived = nodeConfigFromArgs(['--profile', 'testnet-beta', '--data-dir', '/srv/q', '--validator-id', '1']);
  assert.equal(derived.signer.keystorePath, '/srv/q/keystore');
  assert.deepEqual(checkSignerSettings(derived), []);
});
