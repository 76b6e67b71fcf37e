// Item 4 end to end: qbind-remote-signer (child process) with
// backend_mode = "hsm-pkcs11" and hsm_config_path, its key in a real SoftHSM2
// token, a node client over KEMTLS on 127.0.0.1: signatures verify under the
// token's public key, double-sign protection wraps the HSM signer, /metrics
// shows qbind_hsm_*, a wrong PIN stops the daemon at startup without the PIN
// in its output. Ed25519 on the real token; then ML-DSA-44 (suite 100, what
// QBIND consensus uses), which SoftHSM2 2.6 lacks, through the test-only
// PKCS#11 3.2 emulation preloaded into the daemon (emulate-mldsa-preload.ts).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkcs11js from 'pkcs11js';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { suiteByName, verifySignature } from '../../src/crypto/index.ts';
import { Pkcs11Provider } from '../../src/hsm/provider.ts';
import { createLogger } from '../../src/log/logger.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { createRemoteSignerClient } from '../../src/remote/remote-signer-client.ts';
import { SignError, SignerFailureMode, type ValidatorSigner } from '../../src/signer/index.ts';
import { buildDeployment, runDaemonToExit, startDaemon, type DaemonProcess, type Deployment } from '../remote/fixture.ts';
import { createSoftHsmStore, type SoftHsmStore } from '../helpers/softhsm.ts';
import { RecordingApi } from './recording-api.ts';

const PIN = '27182818';
const TOKEN = 'qbind-validator-42';
const chainId = QBIND_DEVNET_CHAIN_ID;
const vote = (view: bigint, block = 1) => encodePreimage({ kind: 'vote', chainId, view, blockHash: new Uint8Array(32).fill(block), voterId: 42n });

let store: SoftHsmStore;
let dep: Deployment;
let daemon: DaemonProcess | undefined;
let daemon2: DaemonProcess | undefined;
let client: ValidatorSigner | undefined;
let client2: ValidatorSigner | undefined;
let publicKey: Buffer;

/** remote_signer.toml of the fixture, switched from the keystore to the HSM backend (runbook §4.1 option B step 3). */
function useHsmBackend(configPath: string): void {
  const text = readFileSync(configPath, 'utf8')
    .replace('backend_mode = "encrypted-fs"', 'backend_mode = "hsm-pkcs11"\nhsm_config_path = "hsm.toml"')
    .replace(/^keystore_path = .*\n/m, '');
  writeFileSync(configPath, text);
}

before(async () => {
  store = createSoftHsmStore();
  store.initToken(TOKEN, PIN);
  const admin = new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, logger: createLogger({ level: 'error' }) });
  await admin.connect();
  publicKey = (await admin.generateKey('ed25519', 'qbind-consensus-42')).publicKey!;
  await admin.close();
  dep = await buildDeployment({ validators: [42n], clients: [{ name: 'node42', validators: [42n] }] });
  writeFileSync(join(dep.dir, 'hsm.toml'), `library_path = "${store.libraryPath}"\ntoken_label  = "${TOKEN}"\nkey_label    = "qbind-consensus-42"\npin_env_var  = "QBIND_HSM_PIN"\n`);
  useHsmBackend(dep.configPath);
});

after(async () => {
  await client?.close();
  await client2?.close();
  await daemon?.stop();
  await daemon2?.stop();
  store?.cleanup();
});

test('the daemon refuses to start with a wrong PIN, naming the token, never the PIN', async () => {
  const r = await runDaemonToExit(dep.configPath, ['--init-protection-store'], { QBIND_HSM_PIN: '11223344' });
  assert.notEqual(r.code, 0);
  assert.match(r.output, /HSM_LOGIN_FAILED|PIN was rejected/);
  assert.ok(!r.output.includes('11223344') && !r.output.includes(PIN));
});

test('qbind-remote-signer with backend_mode = "hsm-pkcs11" signs through the token over KEMTLS', async () => {
  process.env.QBIND_HSM_PIN = PIN; // the daemon inherits it, as `export QBIND_HSM_PIN=<pin>` in the runbook
  daemon = await startDaemon(dep.configPath, ['--init-protection-store']);
  delete process.env.QBIND_HSM_PIN;
  client = createRemoteSignerClient({
    url: daemon.url,
    validatorId: 42n,
    suiteId: suiteByName('ed25519').id,
    identity: await dep.nodeIdentity('node42'),
    signerPublicKey: dep.signerPublicKey,
    failureMode: SignerFailureMode.LogAndContinue,
    failureHooks: { log: () => undefined },
    requestTimeoutMs: 10_000,
  });
  const suite = suiteByName('ed25519');
  for (const view of [10n, 11n, 12n]) {
    const sig = await client.signVote(vote(view));
    assert.ok(verifySignature(suite, publicKey, vote(view), sig), `view ${view} verifies under the token key`);
  }
  // Double-sign protection sits in front of the HSM signer.
  await assert.rejects(client.signVote(vote(12n, 2)), (e: unknown) => e instanceof SignError && e.code === 'DOUBLE_SIGN_REFUSED');
  // A client asking for ML-DSA-44 from this Ed25519 key is refused, not answered with another suite.
  const mlDsaClient = createRemoteSignerClient({ url: daemon.url, validatorId: 42n, identity: await dep.nodeIdentity('node42'), signerPublicKey: dep.signerPublicKey, failureMode: SignerFailureMode.LogAndContinue, failureHooks: { log: () => undefined } });
  await assert.rejects(mlDsaClient.signVote(vote(13n)), (e: unknown) => e instanceof SignError && e.code === 'INVALID_REQUEST' && /suite 100/.test(e.message));
  await mlDsaClient.close();

  // Runbook §4.1 step 5: curl http://localhost:9443/metrics | grep qbind_hsm
  const metrics = await (await fetch(`http://127.0.0.1:${daemon.port}/metrics`)).text();
  assert.match(metrics, /^qbind_hsm_startup_ok 1$/m);
  assert.match(metrics, /^qbind_hsm_sign_success_total [3-9]$/m);
  assert.match(metrics, /^qbind_hsm_sign_error_total\{kind="runtime"\} 0$/m);
  assert.match(metrics, /^qbind_hsm_sign_last_latency_ms \d/m);
  assert.ok(!daemon.output().includes(PIN), 'the PIN is never in the daemon output');
});

test('ML-DSA-44 (suite 100) through the same daemon path, on the emulated PKCS#11 3.2 token over SoftHSM2', async () => {
  const statePath = join(store.dir, 'mldsa-objects.json');
  const lib = new pkcs11js.PKCS11();
  lib.load(store.libraryPath);
  const admin = new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, api: new RecordingApi(lib, { emulateMlDsa: true, statePath }), logger: createLogger({ level: 'error' }) });
  await admin.connect();
  const mlDsaPublic = (await admin.generateKey('ml-dsa-44', 'qbind-consensus-42-mldsa')).publicKey!;
  await admin.close();
  lib.close();

  const dep2 = await buildDeployment({ validators: [42n], clients: [{ name: 'node42', validators: [42n] }] });
  writeFileSync(join(dep2.dir, 'hsm.toml'), `library_path = "${store.libraryPath}"\ntoken_label  = "${TOKEN}"\nkey_label    = "qbind-consensus-42-mldsa"\npin_env_var  = "QBIND_HSM_PIN"\nkey_type     = "ML-DSA-44"\n`);
  useHsmBackend(dep2.configPath);
  const saved = { ...process.env };
  Object.assign(process.env, {
    QBIND_HSM_PIN: PIN,
    QBIND_TEST_MLDSA_STATE: statePath,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${fileURLToPath(new URL('./emulate-mldsa-preload.ts', import.meta.url))}`.trim(),
  });
  try {
    daemon2 = await startDaemon(dep2.configPath, ['--init-protection-store']);
  } finally {
    for (const k of ['QBIND_HSM_PIN', 'QBIND_TEST_MLDSA_STATE', 'NODE_OPTIONS']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  client2 = createRemoteSignerClient({ url: daemon2.url, validatorId: 42n, identity: await dep2.nodeIdentity('node42'), signerPublicKey: dep2.signerPublicKey, failureMode: SignerFailureMode.LogAndContinue, failureHooks: { log: () => undefined }, requestTimeoutMs: 10_000 });
  const suite = suiteByName('ml-dsa-44');
  const preimage = vote(20n);
  const sig = await client2.signVote(preimage);
  assert.equal(sig.length, 2420);
  assert.ok(verifySignature(suite, mlDsaPublic, preimage, sig));
  assert.ok(ml_dsa44.verify(sig, preimage, mlDsaPublic));
  const metrics = await (await fetch(`http://127.0.0.1:${daemon2.port}/metrics`)).text();
  assert.match(metrics, /^qbind_hsm_startup_ok 1$/m);
  assert.match(metrics, /^qbind_hsm_sign_success_total 1$/m);
  assert.ok(!daemon2.output().includes(PIN));
});
