// HsmPkcs11Signer from hsm.toml (both forms) against a real SoftHSM2 token:
// startup checks, every message kind signed and verified, request checks,
// metrics, fail-closed behaviour (backend failure -> exit-on-failure), a
// session broken mid-run, and the PIN absent from logs and errors.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteByName, verifySignature, SUITE_ML_DSA_44 } from '../../src/crypto/index.ts';
import { createHsmSigner, HsmPkcs11Signer } from '../../src/hsm/hsm-signer.ts';
import { HsmError } from '../../src/hsm/hsm-error.ts';
import { Pkcs11Provider } from '../../src/hsm/provider.ts';
import { createLogger } from '../../src/log/logger.ts';
import { metricsRegistry } from '../../src/metrics/registry.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { FailureModeSigner, SignError, SignerFailureMode } from '../../src/signer/index.ts';
import { createSoftHsmStore, type SoftHsmStore, openTokenHandle } from '../helpers/softhsm.ts';

const PIN = '90817263';
const TOKEN = 'qbind-validator';
const chainId = QBIND_DEVNET_CHAIN_ID;
const env = { QBIND_HSM_PIN: PIN, HSM_PIN: PIN };
const logLines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const vote = (voterId: bigint, view = 3n) => encodePreimage({ kind: 'vote', chainId, view, blockHash: h(1), voterId });

let store: SoftHsmStore;
let admin: Pkcs11Provider;
let flatPath: string;
let sectionsPath: string;
let edPublic: Buffer;

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metricsRegistry.getSingleMetric(name);
  assert.ok(m, `metric ${name} registered`);
  const values = (await m.get()).values;
  const v = values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? NaN;
}

before(async () => {
  store = createSoftHsmStore();
  store.initToken(TOKEN, PIN);
  admin = new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, logger });
  await admin.connect();
  edPublic = (await admin.generateKey('ed25519', 'qbind-consensus-42')).publicKey!;
  await admin.generateKey('secp256k1', 'qbind-validator-42-consensus');
  flatPath = join(store.dir, 'hsm.toml');
  writeFileSync(flatPath, `library_path = "${store.libraryPath}"\ntoken_label  = "${TOKEN}"\nkey_label    = "qbind-consensus-42"\npin_env_var  = "QBIND_HSM_PIN"\n`);
  sectionsPath = join(store.dir, 'hsm-sections.toml');
  const slotId = (await admin.tokenStatus()).slotId;
  writeFileSync(sectionsPath, `[hsm]\nlibrary = "${store.libraryPath}"\nslot_id = ${slotId}\npin = "env:HSM_PIN"\n\n[keys.consensus]\nlabel = "qbind-validator-42-consensus"\nkey_type = "secp256k1"\n\n[keys.p2p_identity]\nlabel = "qbind-validator-42-p2p"\nkey_type = "ML-KEM-768"\n`);
});

after(async () => {
  await admin?.close();
  store?.cleanup();
  assert.ok(logLines.length > 0);
  assert.ok(!logLines.some((l) => l.includes(PIN)), 'the PIN must never be logged');
});

test('flat hsm.toml: startup checks pass, every kind is signed and verifies', async () => {
  const signer = await createHsmSigner({ configPath: flatPath, validatorId: 42n, chainId, env, logger, expectedPublicKey: edPublic });
  assert.ok(signer instanceof HsmPkcs11Signer);
  assert.equal(await metric('qbind_hsm_startup_ok'), 1);
  assert.equal(signer.suiteId, 1);
  assert.equal(signer.keyType, 'ed25519');
  assert.deepEqual(Buffer.from(signer.publicKey), edPublic);
  const suite = suiteByName('ed25519');
  const before = await metric('qbind_hsm_sign_success_total');
  const msgs = [
    ['proposal', encodePreimage({ kind: 'proposal', chainId, view: 3n, blockHash: h(1), proposerId: 42n, parentHash: h(2), justifyQcView: 2n })],
    ['vote', vote(42n)],
    ['timeout', encodePreimage({ kind: 'timeout', chainId, view: 4n, highQcHash: h(3), voterId: 42n, highQcView: 3n })],
    ['batch', encodePreimage({ kind: 'batch', chainId, authorId: 42n, round: 1n, batchDigest: h(4) })],
    ['batch-ack', encodePreimage({ kind: 'batch-ack', chainId, ackerId: 42n, batchAuthorId: 1n, batchRound: 1n, batchDigest: h(4) })],
  ] as const;
  for (const [kind, preimage] of msgs) {
    const sig = await signer.sign(kind, preimage);
    assert.ok(verifySignature(suite, signer.publicKey, preimage, sig), `${kind} verifies`);
  }
  assert.ok(verifySignature(suite, signer.publicKey, vote(42n), await signer.signVote(vote(42n))));
  assert.equal(await metric('qbind_hsm_sign_success_total'), before + 6);
  assert.ok((await metric('qbind_hsm_sign_last_latency_ms')) > 0);
  // Refusals are the signer doing its job, not HSM errors.
  const errorsBefore = await metric('qbind_hsm_sign_error_total', { kind: 'runtime' });
  assert.equal(errorsBefore, 0);
  await assert.rejects(signer.signVote(vote(41n)), (e: unknown) => e instanceof SignError && e.code === 'INVALID_REQUEST');
  await assert.rejects(signer.signProposal(vote(42n)), (e: unknown) => e instanceof SignError && e.code === 'INVALID_REQUEST');
  assert.equal(await metric('qbind_hsm_sign_error_total', { kind: 'runtime' }), 0);
  await signer.close();
  await signer.close();
  await assert.rejects(signer.signVote(vote(42n)), (e: unknown) => e instanceof SignError && e.code === 'SIGNER_CLOSED');
});

test('§4.5 sectioned hsm.toml (slot_id, pin = "env:VAR", [keys.consensus]) works too', async () => {
  const signer = await createHsmSigner({ configPath: sectionsPath, validatorId: 42n, chainId, env, logger });
  assert.equal(signer.keyType, 'secp256k1');
  assert.equal(signer.keyLabel, 'qbind-validator-42-consensus');
  const sig = await signer.signVote(vote(42n));
  assert.equal(sig.length, 64);
  assert.ok(verifySignature(suiteByName('secp256k1'), signer.publicKey, vote(42n), sig));
  await signer.close();
});

async function startupFails(options: Partial<Parameters<typeof createHsmSigner>[0]>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(createHsmSigner({ configPath: flatPath, validatorId: 42n, chainId, env, logger, ...options }), (e: unknown) => e instanceof HsmError && e.code === code && re.test(e.message));
  assert.equal(await metric('qbind_hsm_startup_ok'), 0);
}

test('startup refuses: wrong expected public key, wrong suite, missing key, PIN unset, KEM key, bad config', async () => {
  await startupFails({ expectedPublicKey: new Uint8Array(32).fill(7) }, 'HSM_KEY_MISMATCH', /has public key [0-9a-f]{32}, expected [0-9a-f]{32}/);
  await startupFails({ expectedSuiteId: SUITE_ML_DSA_44 }, 'HSM_KEY_MISMATCH', /is ed25519 \(suite 1\), expected suite 100/);
  await startupFails({ keyLabel: 'no-such-key' }, 'HSM_KEY_NOT_FOUND', /no private key labelled 'no-such-key'/);
  await startupFails({ env: {} }, 'HSM_PIN_MISSING', /QBIND_HSM_PIN .* is not set/);
  await startupFails({ configPath: sectionsPath, keyLabel: 'qbind-validator-42-p2p' }, 'HSM_KEY_UNSUPPORTED', /ML-KEM-768 key, which cannot sign/);
  await startupFails({ configPath: join(store.dir, 'missing.toml') }, 'HSM_CONFIG_INVALID', /cannot read HSM config .*missing\.toml: ENOENT/);
  // A key the config says is of another type.
  const wrongType = join(store.dir, 'wrong-type.toml');
  writeFileSync(wrongType, `library_path = "${store.libraryPath}"\ntoken_label = "${TOKEN}"\nkey_label = "qbind-consensus-42"\npin_env_var = "QBIND_HSM_PIN"\nkey_type = "p-256"\n`);
  await startupFails({ configPath: wrongType }, 'HSM_KEY_MISMATCH', /is ed25519, the configuration says p-256/);
  // A mechanism the token does not offer (a vendor ML-DSA mechanism on SoftHSM).
  const vendor = join(store.dir, 'vendor.toml');
  writeFileSync(vendor, `library_path = "${store.libraryPath}"\ntoken_label = "${TOKEN}"\nkey_label = "qbind-consensus-42"\npin_env_var = "QBIND_HSM_PIN"\nmechanism = "0x80000004"\n`);
  await startupFails({ configPath: vendor }, 'HSM_MECHANISM_UNSUPPORTED', /does not offer 0x80000004/);
});

test('fail closed: an HSM error while signing is a BACKEND_FAILURE that exits under exit-on-failure', async () => {
  await admin.generateKey('ed25519', 'doomed');
  const signer = await createHsmSigner({ configPath: flatPath, keyLabel: 'doomed', validatorId: 42n, chainId, env, logger });
  const exits: number[] = [];
  const lines: string[] = [];
  const guarded = new FailureModeSigner(signer, SignerFailureMode.ExitOnFailure, { exit: (c) => exits.push(c), log: (l) => lines.push(l) });
  await guarded.signVote(vote(42n));
  const keyErrors = await metric('qbind_hsm_sign_error_total', { kind: 'key' });
  await admin.deleteKey('doomed');
  await assert.rejects(guarded.signVote(vote(42n, 4n)), (e: unknown) => e instanceof SignError && e.code === 'BACKEND_FAILURE' && /HSM signing failed \(vote, validator 42, key 'doomed'\): HSM_KEY_NOT_FOUND/.test(e.message));
  assert.deepEqual(exits, [1]);
  assert.equal(lines.length, 1);
  assert.ok((await metric('qbind_hsm_sign_error_total', { kind: 'key' })) >= keyErrors + 1);
  await guarded.close();
});

test('a session broken mid-run is recovered; the error is counted with kind "session"', async () => {
  const signer = await createHsmSigner({ configPath: flatPath, validatorId: 42n, chainId, env, logger, sessions: 2 });
  await signer.signVote(vote(42n));
  const before = await metric('qbind_hsm_sign_error_total', { kind: 'session' });
  const { lib, slot } = openTokenHandle(store.libraryPath, TOKEN);
  lib.C_CloseAllSessions(slot);
  const sig = await signer.signVote(vote(42n, 9n));
  assert.ok(verifySignature(suiteByName('ed25519'), signer.publicKey, vote(42n, 9n), sig));
  assert.equal(await metric('qbind_hsm_sign_error_total', { kind: 'session' }), before + 1);
  await signer.close();
  // The admin provider lost its sessions as well and recovers on its next call.
  assert.ok((await admin.listKeys()).length >= 2);
});

test('the PIN appears in no log line and no error message', async () => {
  const errors: string[] = [];
  for (const opts of [{ env: { QBIND_HSM_PIN: PIN + '0' } }, { keyLabel: 'missing' }, {}]) {
    try {
      const s = await createHsmSigner({ configPath: flatPath, validatorId: 42n, chainId, env, logger, ...opts });
      await s.signVote(vote(42n)).catch((e: Error) => errors.push(e.message));
      await s.close();
    } catch (e) {
      errors.push((e as Error).message, String((e as Error).stack));
    }
  }
  assert.ok(errors.length >= 2);
  // The wrong PIN is refused even though this process is already logged in to the token with the right one.
  assert.ok(errors.some((e) => /HSM_LOGIN_FAILED|PIN differs|PIN was rejected/.test(e)), errors.join('\n'));
  for (const text of [...errors, ...logLines]) assert.ok(!text.includes(PIN), `PIN leaked in: ${text.slice(0, 80)}`);
});
