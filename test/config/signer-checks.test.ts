// The --validate-only checks that need the outside world: 17 a real
// EncryptedFsV1 keystore (src/keystore) in a temp folder, 18 a real TCP
// listener on 127.0.0.1, 19 hsm.toml on disk. A check that cannot run is
// 'not-checked', never 'passed'; each broken alone gives only its violation;
// the passphrase never appears in a report.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeystore } from '../../src/keystore/index.ts';
import { nodeConfigFromArgs } from '../../src/config/resolve.ts';
import { validateNodeConfig, formatReportJson, formatReportText, type ValidationReport } from '../../src/config/validate.ts';
import { builtInBackends, hsmBackend, type SignerBackends } from '../../src/config/backends.ts';
import { createLogger } from '../../src/log/logger.ts';

const root = mkdtempSync(join(tmpdir(), 'qbind-config-checks-'));
after(() => rmSync(root, { recursive: true, force: true }));

const PASS = 'correct horse battery staple, config test';
const ITER = 1000;

const MAINNET = ['--profile', 'mainnet', '--data-dir', root, '--validator-id', '42'];
const statusOf = (r: ValidationReport, id: string): string | undefined => r.checks.find((c) => c.id === id)?.status;
const invariants = (r: ValidationReport): number[] => r.violations.map((v) => v.invariant);

async function keystore(name: string, profile: 'devnet-v0' | 'testnet-beta' | 'mainnet', iterations = ITER, validatorId = 42n): Promise<string> {
  const dir = join(root, name);
  await generateKeystore({ dir, validatorId, roles: ['consensus'], passphrase: PASS, profile, iterations, onWarning: () => undefined });
  return dir;
}

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('17: a sound testnet-beta keystore with the passphrase in the environment is unlocked: passed', async () => {
  const dir = await keystore('beta-ok', 'testnet-beta');
  const config = nodeConfigFromArgs(['--profile', 'testnet-beta', '--validator-id', '42', '--signer-mode', 'encrypted-fs', '--signer-keystore-path', dir]);
  const r = await validateNodeConfig(config, { env: { QBIND_KEYSTORE_PASSPHRASE: PASS } });
  assert.deepEqual(r.violations, []);
  assert.equal(statusOf(r, '17'), 'passed');
  assert.equal(r.valid, true);
  assert.ok(!formatReportJson(r).includes(PASS) && !formatReportText(r).includes(PASS));
});

// One MainNet keystore at the real default 600,000 iterations, shared (generating one costs a PBKDF2 run).
let mainnetKeystore: Promise<string> | null = null;
const mainnetDir = (): Promise<string> => (mainnetKeystore ??= keystore('mainnet', 'mainnet', 600_000));

test('17: MainNet keystore at the real default 600,000 iterations unlocks; W2 reminds to harden the host', async () => {
  const dir = await mainnetDir();
  const config = nodeConfigFromArgs([...MAINNET, '--signer-mode', 'encrypted-fs', '--signer-keystore-path', dir]);
  const r = await validateNodeConfig(config, { env: { QBIND_KEYSTORE_PASSPHRASE: PASS } });
  assert.deepEqual(r.violations, []);
  assert.equal(statusOf(r, '17'), 'passed');
  assert.deepEqual(r.warnings.map((w) => w.code), ['W2']);
});

test('17: passphrase not in the environment: not checked (never passed); --strict makes it invalid', async () => {
  const dir = await keystore('no-pass', 'testnet-beta');
  const config = nodeConfigFromArgs(['--profile', 'testnet-beta', '--validator-id', '42', '--signer-mode', 'encrypted-fs', '--signer-keystore-path', dir]);
  const r = await validateNodeConfig(config, { env: {} });
  assert.equal(statusOf(r, '17'), 'not-checked');
  assert.match(r.checks.find((c) => c.id === '17')!.detail, /QBIND_KEYSTORE_PASSPHRASE is not set/);
  assert.equal(r.valid, true);
  const strict = await validateNodeConfig(config, { env: {}, strict: true });
  assert.equal(strict.valid, false);
  assert.match(formatReportText(strict), /not checked: 17/);
});

test('17 broken alone: wrong passphrase, loose permissions, missing folder, another validator\'s keystore', async () => {
  const dir = await mainnetDir();
  const weak = await keystore('weak-kdf', 'testnet-beta');
  const other = await keystore('other-validator', 'testnet-beta', ITER, 7n);
  const run = async (argv: string[], env: NodeJS.ProcessEnv): Promise<ValidationReport> =>
    validateNodeConfig(nodeConfigFromArgs([...MAINNET, '--signer-mode', 'encrypted-fs', ...argv]), { env });
  const wrong = 'a wrong passphrase that is long enough';

  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['wrong passphrase', ['--signer-keystore-path', dir], { QBIND_KEYSTORE_PASSPHRASE: wrong }, /cannot unlock/],
    ['missing folder', ['--signer-keystore-path', join(root, 'nope')], { QBIND_KEYSTORE_PASSPHRASE: PASS }, /does not exist/],
    ['other validator', ['--signer-keystore-path', other], { QBIND_KEYSTORE_PASSPHRASE: PASS }, /validator 7/],
    ['short MainNet passphrase', ['--signer-keystore-path', dir], { QBIND_KEYSTORE_PASSPHRASE: 'short' }, /shorter than 20/],
  ];
  for (const [what, argv, env, found] of cases) {
    const r = await run(argv, env);
    assert.deepEqual([...new Set(invariants(r))], [17], what);
    assert.ok(r.violations.some((v) => found.test(v.found)), `${what}: ${JSON.stringify(r.violations)}`);
    assert.equal(statusOf(r, '17'), 'failed', what);
    assert.ok(!formatReportJson(r).includes(wrong) && !formatReportJson(r).includes(PASS), `${what}: no passphrase in the report`);
  }
  // Iteration count below the MainNet minimum (1000): refused before any unlock.
  const weakReport = await run(['--signer-keystore-path', weak], {});
  assert.deepEqual(invariants(weakReport), [17]);
  assert.match(weakReport.violations[0]!.found, /1000 PBKDF2 iterations; mainnet requires at least 600000/);

  chmodSync(join(dir, 'consensus.key'), 0o644);
  const loose = await run(['--signer-keystore-path', dir], { QBIND_KEYSTORE_PASSPHRASE: PASS });
  assert.ok(invariants(loose).every((n) => n === 17) && loose.violations.some((v) => /group or other/.test(v.found)));
  assert.match(loose.violations.find((v) => /group or other/.test(v.found))!.fix, /chmod 700 .* chmod 600/);
});

test('17 off the strict networks: loose permissions are warning W3, not a violation', async () => {
  const dir = await keystore('devnet-loose', 'devnet-v0');
  chmodSync(join(dir, 'consensus.key'), 0o644);
  const config = nodeConfigFromArgs(['--profile', 'devnet-v0', '--validator-id', '42', '--signer-mode', 'encrypted-fs', '--keystore-path', dir]);
  const r = await validateNodeConfig(config, { env: { QBIND_KEYSTORE_PASSPHRASE: PASS } });
  assert.deepEqual(r.violations, []);
  assert.equal(statusOf(r, '17'), 'passed');
  assert.ok(r.warnings.some((w) => w.code === 'W3' && /consensus\.key/.test(w.message)));
});

test('17 with a passphrase file (design doc §6.3 --keystore-passphrase-file)', async () => {
  const dir = await keystore('alpha-file', 'testnet-beta');
  const file = join(root, 'passphrase');
  writeFileSync(file, PASS + '\n', { mode: 0o600 });
  const config = nodeConfigFromArgs(['--profile', 'testnet-beta', '--validator-id', '42', '--signer-mode', 'encrypted-fs', '--keystore-path', dir, '--keystore-passphrase-file', file]);
  const r = await validateNodeConfig(config, { env: {} });
  assert.equal(statusOf(r, '17'), 'passed');
});

test('17 without the keystore backend in the build: not checked, never passed', async () => {
  const dir = await keystore('no-backend', 'testnet-beta');
  const none: SignerBackends = { ...(await builtInBackends()), keystore: null };
  const config = nodeConfigFromArgs(['--profile', 'testnet-beta', '--validator-id', '42', '--signer-mode', 'encrypted-fs', '--keystore-path', dir]);
  const r = await validateNodeConfig(config, { env: { QBIND_KEYSTORE_PASSPHRASE: PASS }, backends: none });
  assert.equal(statusOf(r, '17'), 'not-checked');
  assert.match(r.checks.find((c) => c.id === '17')!.detail, /not in this build/);
});

test('18 with TCP only (identity passphrase not in the environment): port closed -> violation 18 alone', async () => {
  const port = await closedPort();
  const backends: SignerBackends = { ...(await builtInBackends()), remote: null };
  const down = await validateNodeConfig(nodeConfigFromArgs([...MAINNET, '--signer-mode', 'remote-signer', '--remote-signer-url', `kemtls://127.0.0.1:${port}`, '--remote-signer-public-key-path', join(root, 'absent.pub')]), { timeoutMs: 2000, env: {}, backends });
  assert.deepEqual(invariants(down), [18]);
  assert.match(down.violations[0]!.found, /unreachable \(ECONNREFUSED\)/);
  assert.match(down.violations[0]!.fix, /qbind-remote-signer/);
});

test('18 without the remote backend in the build: TCP reachability only, reported not checked', async () => {
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const live = (server.address() as AddressInfo).port;
    const backends: SignerBackends = { ...(await builtInBackends()), remote: null };
    const argv = [...MAINNET, '--signer-mode', 'remote', '--remote-signer-addr', `127.0.0.1:${live}`, '--remote-signer-public-key-path', '/etc/qbind/signer.pub'];
    const up = await validateNodeConfig(nodeConfigFromArgs(argv), { timeoutMs: 2000, backends });
    assert.deepEqual(up.violations, []);
    assert.equal(statusOf(up, '18'), 'not-checked');
    assert.match(up.checks.find((c) => c.id === '18')!.detail, /TCP connection accepted; KEMTLS handshake and signer key not checked/);
    assert.equal(up.valid, true);
    assert.equal((await validateNodeConfig(nodeConfigFromArgs(argv), { strict: true, backends })).valid, false);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('19: hsm.toml missing -> violation 19 alone; present -> checked as far as this build goes', async () => {
  const missing = await validateNodeConfig(nodeConfigFromArgs([...MAINNET, '--signer-mode', 'hsm', '--hsm-config', join(root, 'absent-hsm.toml')]));
  assert.deepEqual(invariants(missing), [19]);
  assert.match(missing.violations[0]!.found, /no such file/);
  const path = join(root, 'hsm.toml');
  writeFileSync(path, 'library_path = "/nonexistent/libpkcs11.so"\ntoken_label = "t"\nkey_label = "k"\npin_env_var = "QBIND_TEST_HSM_PIN"\n');
  const backends: SignerBackends = { ...(await builtInBackends()), hsm: hsmBackend({ logger: createLogger({ write: () => undefined }) }) };
  const r = await validateNodeConfig(nodeConfigFromArgs([...MAINNET, '--signer-mode', 'hsm-pkcs11', '--hsm-config-path', path]), { env: { QBIND_TEST_HSM_PIN: '1234' }, backends });
  if (backends.hsm) {
    assert.deepEqual(invariants(r), [19], 'the library does not exist: the HSM is not accessible');
    assert.match(r.violations[0]!.found, /libpkcs11\.so/);
  } else {
    assert.deepEqual(r.violations, []);
    assert.equal(statusOf(r, '19'), 'not-checked');
  }
  assert.notEqual(statusOf(r, '19'), 'passed');
});

test('checks that do not apply to the signer mode are not-applicable, and outside: false runs none', async () => {
  const r = await validateNodeConfig(nodeConfigFromArgs(['--profile', 'devnet-v0', '--validator-id', '1']));
  assert.deepEqual(['17', '18', '19'].map((id) => statusOf(r, id)), ['not-applicable', 'not-applicable', 'not-applicable']);
  assert.deepEqual(r.checks.filter((c) => Number(c.id) <= 15).map((c) => c.status), Array(15).fill('not-applicable'));
  const off = await validateNodeConfig(nodeConfigFromArgs([...MAINNET, '--signer-mode', 'hsm', '--hsm-config', '/nonexistent']), { outside: false });
  assert.deepEqual(off.violations, []);
  assert.equal(statusOf(off, '19'), 'not-checked');
});

test('8: a data_dir that exists but is a file is a violation', async () => {
  const file = join(root, 'not-a-dir');
  writeFileSync(file, 'x');
  const r = await validateNodeConfig(nodeConfigFromArgs(['--profile', 'mainnet', '--data-dir', file, '--validator-id', '42', '--signer-mode', 'hsm', '--hsm-config', '/nonexistent']), { outside: true });
  assert.ok(invariants(r).includes(8));
  assert.match(r.violations.find((v) => v.invariant === 8)!.found, /not a directory/);
});
