// createValidatorSigner: the signer of each mode from a NodeConfig, wrapped in
// its failure mode. Loopback signs (with a given or fresh key, or the key of
// a DevNet keystore) and the signatures verify; encrypted-fs opens a real
// keystore; forbidden modes, missing settings and absent backends are refused
// with their codes; exit-on-failure ends the process on a backend failure.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, suiteById, SUITE_ML_DSA_44, verifySignature } from '../../src/crypto/index.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID, QBIND_MAINNET_CHAIN_ID, QBIND_TESTNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { generateKeystore } from '../../src/keystore/index.ts';
import { createValidatorSigner } from '../../src/config/signer-factory.ts';
import { builtInBackends, type SignerBackends } from '../../src/config/backends.ts';
import { nodeConfigFromArgs } from '../../src/config/resolve.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { FailureModeSigner, SignError } from '../../src/signer/index.ts';
import { createLogger } from '../../src/log/logger.ts';

const root = mkdtempSync(join(tmpdir(), 'qbind-signer-factory-'));
after(() => rmSync(root, { recursive: true, force: true }));
const suite = suiteById(SUITE_ML_DSA_44);
const quiet = createLogger({ write: () => undefined });
const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const vote = (chainId: bigint, voterId: bigint, view = 5n) => encodePreimage({ kind: 'vote', chainId, view, blockHash: h(1), voterId });
const PASS = 'factory test passphrase, long enough';

async function refuses(p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ConfigError && err.code === code && text.test(err.message));
}

test('loopback-testing on devnet: signs through the loopback transport; the signature verifies; failure mode applied', async () => {
  const key = generateSigningKey(suite);
  const config = nodeConfigFromArgs(['--profile', 'devnet-v0', '--signer-mode', 'loopback', '--validator-id', '9']);
  const signer = await createValidatorSigner(config, { loopbackKey: key, logger: quiet });
  assert.ok(signer instanceof FailureModeSigner);
  assert.equal(signer.failureMode, 'exit-on-failure');
  assert.equal(signer.validatorId, 9n);
  assert.equal(signer.suiteId, SUITE_ML_DSA_44);
  const sig = await signer.signVote(vote(QBIND_DEVNET_CHAIN_ID, 9n));
  assert.ok(verifySignature(suite, key.publicKey, vote(QBIND_DEVNET_CHAIN_ID, 9n), sig));
  // The signer is bound to the devnet chain: a mainnet preimage is refused (not a backend failure: no exit).
  await assert.rejects(signer.signVote(vote(QBIND_MAINNET_CHAIN_ID, 9n)), (e: unknown) => e instanceof SignError && e.code === 'INVALID_REQUEST');
  await signer.close();
});

test('loopback-testing is the testnet-alpha default and signs with a fresh ML-DSA-44 key when given none', async () => {
  const config = nodeConfigFromArgs(['--profile', 'testnet-alpha', '--validator-id', '3']);
  const lines: string[] = [];
  const signer = await createValidatorSigner(config, { logger: createLogger({ write: (l) => lines.push(l) }) });
  assert.equal((await signer.signVote(vote(QBIND_TESTNET_CHAIN_ID, 3n))).length, suite.signatureBytes);
  assert.ok(lines.some((l) => /WARN .*loopback-testing signer: the key is in this process/.test(l)));
  await signer.close();
});

test('exit-on-failure ends the process (exit 1) on a backend failure; log-and-continue returns the error', async () => {
  const dir = join(root, 'failure-mode-keys');
  await generateKeystore({ dir, validatorId: 9n, roles: ['consensus'], passphrase: PASS, profile: 'testnet-beta', iterations: 1000, onWarning: () => undefined });
  for (const [mode, exits] of [['exit-on-failure', [1]], ['log-and-continue', []]] as const) {
    const dataDir = join(root, `data-${mode}`);
    mkdirSync(dataDir);
    const config = nodeConfigFromArgs(['--profile', 'testnet-beta', '--validator-id', '9', '--keystore-path', dir, '--signer-failure-mode', mode, '--data-dir', dataDir]);
    const seen: number[] = [];
    const lines: string[] = [];
    const signer = await createValidatorSigner(config, { logger: quiet, env: { QBIND_KEYSTORE_PASSPHRASE: PASS }, createProtectionStore: true, failureHooks: { exit: (c) => seen.push(c), log: (l) => lines.push(l) } });
    assert.equal(signer.failureMode, mode);
    await signer.signVote(vote(QBIND_TESTNET_CHAIN_ID, 9n)); // works
    await signer.close(); // the key is gone: SIGNER_CLOSED is a backend failure
    await assert.rejects(signer.signVote(vote(QBIND_TESTNET_CHAIN_ID, 9n)), (e: unknown) => e instanceof SignError && e.code === 'SIGNER_CLOSED');
    assert.deepEqual(seen, exits, mode);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`mode ${mode}`));
    assert.ok(!lines[0]!.includes(PASS));
  }
});

test('loopback-testing with a DevNet keystore (design doc §6.2 --keystore-path) signs with that key', async () => {
  const dir = join(root, 'devnet-keys');
  const gen = await generateKeystore({ dir, validatorId: 11n, roles: ['consensus'], passphrase: null, profile: 'devnet-v0', onWarning: () => undefined });
  const config = nodeConfigFromArgs(['--profile', 'devnet-v0', '--signer-mode', 'loopback', '--keystore-path', dir, '--validator-id', '11']);
  const signer = await createValidatorSigner(config, { logger: quiet, env: {} });
  const sig = await signer.signVote(vote(QBIND_DEVNET_CHAIN_ID, 11n));
  assert.ok(verifySignature(suite, gen.keys[0]!.publicKey, vote(QBIND_DEVNET_CHAIN_ID, 11n), sig));
  await signer.close();
  // The keystore is validator 11's: configured as 12, it is refused.
  await assert.rejects(createValidatorSigner(nodeConfigFromArgs(['--profile', 'devnet-v0', '--signer-mode', 'loopback', '--keystore-path', dir, '--validator-id', '12']), { logger: quiet, env: {} }), /validator 11/);
});

test('encrypted-fs: opens the keystore with the passphrase from the variable the config names', async () => {
  const dir = join(root, 'beta-keys');
  const gen = await generateKeystore({ dir, validatorId: 42n, roles: ['consensus', 'p2p-identity'], passphrase: PASS, profile: 'testnet-beta', iterations: 1000, onWarning: () => undefined });
  const store = join(root, 'beta-protection.sqlite');
  const config = nodeConfigFromArgs(['--profile', 'testnet-beta', '--signer-mode', 'encrypted-fs', '--signer-keystore-path', dir, '--validator-id', '42', '--keystore-passphrase-env', 'MY_PASS', '--signer-protection-store', store]);
  // No protection store yet and no permission to create one: refused, never a silent fresh start.
  await assert.rejects(createValidatorSigner(config, { logger: quiet, env: { MY_PASS: PASS } }), (e: unknown) => e instanceof Error && /STORE_MISSING|does not exist|missing/i.test(`${(e as { code?: string }).code} ${e.message}`));
  const signer = await createValidatorSigner(config, { logger: quiet, env: { MY_PASS: PASS }, createProtectionStore: true });
  const sig = await signer.signVote(vote(QBIND_TESTNET_CHAIN_ID, 42n));
  assert.ok(verifySignature(suite, gen.keys[0]!.publicKey, vote(QBIND_TESTNET_CHAIN_ID, 42n), sig));
  // The factory's signer is behind double-sign protection: a conflicting vote at the same view is refused,
  // also after a restart over the same store.
  const conflicting = encodePreimage({ kind: 'vote', chainId: QBIND_TESTNET_CHAIN_ID, view: 5n, blockHash: new Uint8Array(32).fill(9), voterId: 42n });
  await assert.rejects(signer.signVote(conflicting), (e: unknown) => e instanceof SignError && e.code === 'DOUBLE_SIGN_REFUSED');
  await signer.close();
  const restarted = await createValidatorSigner(config, { logger: quiet, env: { MY_PASS: PASS } });
  await assert.rejects(restarted.signVote(conflicting), (e: unknown) => e instanceof SignError && e.code === 'DOUBLE_SIGN_REFUSED');
  await restarted.close();
  // TestNet Beta without any store location (no data_dir, no signer.protection_store) does not start.
  const noStore = nodeConfigFromArgs(['--profile', 'testnet-beta', '--signer-mode', 'encrypted-fs', '--signer-keystore-path', dir, '--validator-id', '42', '--keystore-passphrase-env', 'MY_PASS']);
  await assert.rejects(createValidatorSigner(noStore, { logger: quiet, env: { MY_PASS: PASS } }), /needs a double-sign protection store/);
  await assert.rejects(createValidatorSigner(config, { logger: quiet, env: {} }), (e: unknown) => e instanceof Error && /MY_PASS is not set/.test(e.message) && !e.message.includes(PASS));
  await assert.rejects(createValidatorSigner(config, { logger: quiet, env: { MY_PASS: 'not the passphrase at all' } }), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'WRONG_PASSPHRASE' && !e.message.includes('not the passphrase'));
});

test('refusals: loopback and log-and-continue on MainNet, missing settings, no signer mode', async () => {
  const mainnet = ['--profile', 'mainnet', '--data-dir', '/data/qbind', '--validator-id', '42'];
  await refuses(createValidatorSigner(nodeConfigFromArgs([...mainnet, '--signer-mode', 'loopback']), { logger: quiet }), 'SIGNER_MODE_FORBIDDEN', /loopback-testing is forbidden on mainnet/);
  await refuses(createValidatorSigner(nodeConfigFromArgs(['--profile', 'devnet-v0', '--env', 'mainnet', '--validator-id', '1']), { logger: quiet }), 'SIGNER_MODE_FORBIDDEN', /forbidden on mainnet/);
  await refuses(createValidatorSigner(nodeConfigFromArgs([...mainnet, '--signer-mode', 'hsm', '--hsm-config', '/x', '--signer-failure-mode', 'log-and-continue']), { logger: quiet }), 'FAILURE_MODE_FORBIDDEN', /invariant 10/);
  await refuses(createValidatorSigner(nodeConfigFromArgs(mainnet), { logger: quiet }), 'SIGNER_CONFIG_INCOMPLETE', /no signer mode/);
  await refuses(createValidatorSigner(nodeConfigFromArgs(['--profile', 'devnet-v0']), { logger: quiet }), 'SIGNER_CONFIG_INCOMPLETE', /validator_id not set/);
  await refuses(createValidatorSigner(nodeConfigFromArgs(['--profile', 'testnet-alpha', '--validator-id', '1', '--signer-mode', 'remote']), { logger: quiet }), 'SIGNER_CONFIG_INCOMPLETE', /signer\.remote_signer_url not set/);
});

test('a mode whose backend is not in this build is refused with SIGNER_NOT_AVAILABLE', async () => {
  const built = await builtInBackends();
  const none: SignerBackends = { keystore: null, hsm: null, remote: null };
  const base = ['--profile', 'testnet-beta', '--validator-id', '42'];
  const cases: [string[], string][] = [
    [['--signer-mode', 'remote-signer', '--remote-signer-url', 'kemtls://127.0.0.1:9443', '--remote-signer-public-key-path', '/etc/qbind/signer.pub', '--identity-keystore-path', '/tmp/id'], 'remote signer client'],
    [['--signer-mode', 'hsm-pkcs11', '--hsm-config-path', '/etc/qbind/hsm.toml'], 'PKCS#11 HSM signer'],
    [['--signer-mode', 'encrypted-fs', '--keystore-path', '/tmp/k'], 'EncryptedFsV1 keystore'],
  ];
  for (const [argv, what] of cases) {
    await refuses(createValidatorSigner(nodeConfigFromArgs([...base, ...argv]), { logger: quiet, backends: none }), 'SIGNER_NOT_AVAILABLE', new RegExp(`not available in this build: the ${what.replace(/[#.]/g, '.')}`));
  }
  // This build has every backend.
  assert.ok(built.remote?.createSigner && built.hsm && built.keystore);
});
