// Check 19 (HSM accessible) and the hsm-pkcs11 signer mode against a real
// SoftHSM2 token (test/helpers/softhsm.ts): wrong PIN, unknown token, a key
// that is not ML-DSA-44, PIN not in the environment; and, because SoftHSM2
// 2.6 has no ML-DSA, the passing path on the PKCS#11 3.2 ML-DSA emulation of
// test/hsm/recording-api.ts (ML-DSA computed by node:crypto, every other call
// to the real token). Also qbind-node --validate-only as a child process
// against the real token. The PIN never appears in any report or output.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkcs11js from 'pkcs11js';
import { suiteById, SUITE_ML_DSA_44, verifySignature } from '../../src/crypto/index.ts';
import { Pkcs11Provider } from '../../src/hsm/provider.ts';
import type { Pkcs11Api } from '../../src/hsm/pkcs11-api.ts';
import { createLogger } from '../../src/log/logger.ts';
import { encodePreimage, QBIND_MAINNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { builtInBackends, hsmBackend, type SignerBackends } from '../../src/config/backends.ts';
import { nodeConfigFromArgs } from '../../src/config/resolve.ts';
import { createValidatorSigner } from '../../src/config/signer-factory.ts';
import { formatReportJson, validateNodeConfig, type ValidationReport } from '../../src/config/validate.ts';
import { createSoftHsmStore, type SoftHsmStore } from '../helpers/softhsm.ts';
import { RecordingApi } from '../hsm/recording-api.ts';

const PIN = '31415926';
const TOKEN = 'qbind-config-test';
const BIN = fileURLToPath(new URL('../../bin/qbind-node', import.meta.url));
const quiet = createLogger({ write: () => undefined });
let store: SoftHsmStore;
let real: Pkcs11Api;
let emulating: RecordingApi;
let admin: Pkcs11Provider;
let emuAdmin: Pkcs11Provider;
let mlDsaPublic: Uint8Array;

const hsmToml = (name: string, keyLabel: string, token = TOKEN): string => {
  const path = join(store.dir, name);
  writeFileSync(path, `library_path = "${store.libraryPath}"\ntoken_label = "${token}"\nkey_label = "${keyLabel}"\npin_env_var = "QBIND_HSM_PIN"\n`);
  return path;
};
const mainnetHsm = (path: string): string[] => ['--profile', 'mainnet', '--data-dir', store.dir, '--validator-id', '42', '--signer-mode', 'hsm-pkcs11', '--hsm-config-path', path];
const check19 = (r: ValidationReport) => r.checks.find((c) => c.id === '19')!;

before(async () => {
  store = createSoftHsmStore();
  store.initToken(TOKEN, PIN);
  admin = new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, logger: quiet });
  await admin.connect();
  await admin.generateKey('ed25519', 'ed25519-consensus');
  const lib = new pkcs11js.PKCS11();
  lib.load(store.libraryPath);
  real = lib;
  emulating = new RecordingApi(real, { emulateMlDsa: true });
  emuAdmin = new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, api: emulating, logger: quiet, sessions: 1 });
  await emuAdmin.connect();
  mlDsaPublic = (await emuAdmin.generateKey('ml-dsa-44', 'mldsa-consensus')).publicKey!;
});

after(async () => {
  await emuAdmin?.close();
  await admin?.close();
  try {
    real?.C_Finalize();
  } catch {
    // already finalized by the last provider
  }
  store?.cleanup();
});

async function validate(argv: string[], env: NodeJS.ProcessEnv, backends?: SignerBackends): Promise<ValidationReport> {
  const r = await validateNodeConfig(nodeConfigFromArgs(argv), { env, backends: backends ?? { ...(await builtInBackends()), hsm: hsmBackend({ logger: quiet }) }, timeoutMs: 20_000 });
  assert.ok(!formatReportJson(r).includes(PIN), 'the PIN never appears in a report');
  return r;
}

// (A wrong PIN is tested in a child process below: in this process the token is already logged in by the admin session.)
test('19 against a real token: unknown token, a classical key, missing key: each violation 19 alone', async () => {
  const cases: [string, string, string, RegExp][] = [
    ['unknown token', hsmToml('other-token.toml', 'ed25519-consensus', 'no-such-token'), PIN, /no-such-token/],
    ['Ed25519 key', hsmToml('ed.toml', 'ed25519-consensus'), PIN, /suite 100/],
    ['missing key', hsmToml('missing.toml', 'no-such-key'), PIN, /no-such-key/],
  ];
  for (const [what, path, pin, found] of cases) {
    const r = await validate(mainnetHsm(path), { QBIND_HSM_PIN: pin });
    assert.deepEqual(r.violations.map((v) => v.invariant), [19], what);
    assert.match(r.violations[0]!.found, found, what);
    assert.equal(check19(r).status, 'failed', what);
  }
});

test('19: PIN variable not set where the check runs: not checked, never passed', async () => {
  const r = await validate(mainnetHsm(hsmToml('ed.toml', 'ed25519-consensus')), {});
  assert.deepEqual(r.violations, []);
  assert.equal(check19(r).status, 'not-checked');
  assert.match(check19(r).detail, /QBIND_HSM_PIN/);
});

test('19 passes and the factory signs on an ML-DSA-44 token key (PKCS#11 3.2 ML-DSA emulated over SoftHSM2)', async () => {
  const backends: SignerBackends = { ...(await builtInBackends()), hsm: hsmBackend({ api: emulating, logger: quiet, sessions: 1 }) };
  const argv = mainnetHsm(hsmToml('mldsa.toml', 'mldsa-consensus'));
  const r = await validate(argv, { QBIND_HSM_PIN: PIN }, backends);
  assert.deepEqual(r.violations, []);
  assert.equal(check19(r).status, 'passed');
  assert.equal(r.valid, true);

  const signer = await createValidatorSigner(nodeConfigFromArgs(argv), { backends, env: { QBIND_HSM_PIN: PIN }, logger: quiet, createProtectionStore: true });
  assert.equal(signer.failureMode, 'exit-on-failure');
  const preimage = encodePreimage({ kind: 'vote', chainId: QBIND_MAINNET_CHAIN_ID, view: 12n, blockHash: new Uint8Array(32).fill(3), voterId: 42n });
  const sig = await signer.signVote(preimage);
  assert.ok(verifySignature(suiteById(SUITE_ML_DSA_44), mlDsaPublic, preimage, sig));
  await signer.close();
});

test('the factory refuses a classical HSM key for QBIND consensus', async () => {
  await assert.rejects(
    createValidatorSigner(nodeConfigFromArgs(mainnetHsm(hsmToml('ed.toml', 'ed25519-consensus'))), { backends: { ...(await builtInBackends()), hsm: hsmBackend({ logger: quiet }) }, env: { QBIND_HSM_PIN: PIN }, logger: quiet }),
    (e: unknown) => e instanceof Error && /suite 100/.test(e.message) && !e.message.includes(PIN),
  );
});

test('qbind-node --validate-only against the real token (child process): classical key, wrong PIN: exit 1 with invariant 19, no PIN in output', () => {
  const path = hsmToml('ed.toml', 'ed25519-consensus');
  for (const [pin, found] of [[PIN, /suite 100/], ['00000000', /HSM_LOGIN_FAILED|CKR_PIN_INCORRECT|PIN/]] as const) {
    const r = spawnSync(BIN, [...mainnetHsm(path), '--validate-only', '--output', 'json'], {
      env: { PATH: process.env.PATH, SOFTHSM2_CONF: store.conf, QBIND_HSM_PIN: pin, QBIND_NODE_CONFIG: '' }, encoding: 'utf8',
    });
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { violations: { invariant: number; found: string }[] };
    assert.deepEqual(report.violations.map((v) => v.invariant), [19]);
    assert.match(report.violations[0]!.found, found);
    assert.ok(!r.stdout.includes(pin) && !r.stderr.includes(pin), 'the PIN never appears in output');
  }
});
