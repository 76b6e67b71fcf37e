// qbind-hsm as an operator runs it: real child processes (bin/qbind-hsm)
// against a throwaway SoftHSM2 token store. init, keygen, list, status,
// backup (public keys; a wrapped key that the token unwraps and signs with
// again), migrate (refused clearly by a token without ML-DSA), the error exits,
// and the PIN and passphrase absent from every output.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkcs11js from 'pkcs11js';
import { parseHsmConfig } from '../../src/hsm/config.ts';
import { createSoftHsmStore, type SoftHsmStore } from '../helpers/softhsm.ts';

const BIN = fileURLToPath(new URL('../../bin/', import.meta.url));
const PIN = '31415926';
const PASSPHRASE = 'correct horse battery staple for the keystore';
const TOKEN = 'qbind-validator-42';
let store: SoftHsmStore;
let config: string;
const outputs: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(tool: string, args: string[], extraEnv: NodeJS.ProcessEnv = { QBIND_HSM_PIN: PIN }): Run {
  const r = spawnSync(join(BIN, tool), args, { env: { ...store.env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
  outputs.push(r.stdout, r.stderr);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const hsm = (args: string[], env?: NodeJS.ProcessEnv): Run => run('qbind-hsm', args, env);

function expectError(r: Run, exit: number, code: string, re?: RegExp): void {
  assert.equal(r.code, exit, r.stderr + r.stdout);
  assert.match(r.stderr, new RegExp(`qbind-hsm: error \\[${code}\\]`));
  if (re) assert.match(r.stderr, re);
}

before(() => {
  store = createSoftHsmStore();
  store.initToken(TOKEN, PIN);
  config = join(store.dir, 'etc', 'hsm.toml');
});

after(() => {
  store?.cleanup();
  for (const o of outputs) {
    assert.ok(!o.includes(PIN), 'the PIN must not appear in any output');
    assert.ok(!o.includes(PASSPHRASE), 'the passphrase must not appear in any output');
  }
});

test('init checks the token and writes the flat hsm.toml; refuses to overwrite or to write after a failed check', () => {
  const bad = hsm(['init', '--library', store.libraryPath, '--token-label', TOKEN, '--key-label', 'qbind-consensus-42', '--config', config], { QBIND_HSM_PIN: '00000000' });
  expectError(bad, 1, 'HSM_LOGIN_FAILED', /not writing .*hsm\.toml: connect check failed: login to token 'qbind-validator-42' failed: the PIN was rejected \(CKR_PIN_INCORRECT\)/);
  assert.ok(!existsSync(config));
  expectError(hsm(['init', '--library', store.libraryPath, '--token-label', 'nope', '--key-label', 'k', '--config', config]), 1, 'HSM_TOKEN_NOT_FOUND', /no token labelled 'nope'/);
  expectError(hsm(['init', '--library', store.libraryPath, '--token-label', TOKEN, '--key-label', 'k', '--config', config], {}), 1, 'HSM_PIN_MISSING', /QBIND_HSM_PIN/);
  expectError(hsm(['init', '--library', join(store.dir, 'nope.so'), '--token-label', TOKEN, '--key-label', 'k', '--config', config]), 1, 'HSM_LIBRARY_LOAD');
  assert.ok(!existsSync(config));

  const ok = hsm(['init', '--library', store.libraryPath, '--token-label', TOKEN, '--key-label', 'qbind-consensus-42', '--config', config]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /wrote .*hsm\.toml/);
  assert.match(ok.stdout, /no key labelled 'qbind-consensus-42' yet; create it with qbind-hsm keygen/);
  assert.match(ok.stdout, /ed25519 +yes +yes/);
  assert.match(ok.stdout, /ml-dsa-44 +no +no/);
  const c = parseHsmConfig(readFileSync(config, 'utf8'));
  assert.equal(c.tokenLabel, TOKEN);
  assert.equal(c.pinEnvVar, 'QBIND_HSM_PIN');
  assert.equal(c.keys[0]!.label, 'qbind-consensus-42');
  assert.equal(statSync(config).mode & 0o777, 0o640);
  expectError(hsm(['init', '--library', store.libraryPath, '--token-label', TOKEN, '--key-label', 'other', '--config', config]), 1, 'FILE_EXISTS');
  assert.equal(parseHsmConfig(readFileSync(config, 'utf8')).keys[0]!.label, 'qbind-consensus-42', 'the existing file is untouched');
});

test('usage errors exit 2', () => {
  assert.equal(hsm([]).code, 2);
  expectError(hsm(['keygen', '--config', config, '--key-type', 'rsa-4096']), 2, 'USAGE', /unknown key type 'rsa-4096'/);
  assert.equal(hsm(['init', '--backend', 'tpm', '--library', 'x', '--key-label', 'k']).code, 2);
  expectError(hsm(['init', '--backend', 'ledger', '--library', 'x', '--token-label', 't', '--key-label', 'k']), 2, 'USAGE', /--backend ledger is not supported/);
  expectError(hsm(['init', '--library', 'x', '--key-label', 'k', '--config', config]), 2, 'USAGE', /--token-label/);
  expectError(hsm(['migrate', '--config', config, '--keystore', store.dir, '--passphrase', PASSPHRASE]), 2, 'USAGE', /would show in ps/);
});

let edFingerprint = '';

test('keygen: ML-DSA-44 by default (refused by SoftHSM2 2.6, naming the mechanism), Ed25519 on request; list and status', () => {
  expectError(hsm(['keygen', '--config', config]), 1, 'HSM_MECHANISM_UNSUPPORTED', /does not offer CKM_ML_DSA_KEY_PAIR_GEN \(0x1c\), needed to generate ml-dsa-44 keys/);
  const gen = hsm(['keygen', '--config', config, '--key-type', 'ed25519', '--output', 'json']);
  assert.equal(gen.code, 0, gen.stderr);
  const key = JSON.parse(gen.stdout).key;
  assert.equal(key.label, 'qbind-consensus-42');
  assert.equal(key.key_type, 'ed25519');
  assert.equal(key.sensitive, true);
  assert.equal(key.extractable, false);
  assert.equal(Buffer.from(key.public_key, 'base64').length, 32);
  edFingerprint = key.fingerprint;
  expectError(hsm(['keygen', '--config', config, '--key-type', 'ed25519']), 1, 'HSM_KEY_EXISTS');

  const list = hsm(['list', '--config', config, '--output', 'json']);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).keys.map((k: { fingerprint: string }) => k.fingerprint), [edFingerprint]);

  const status = hsm(['status', '--config', config, '--output', 'json']);
  assert.equal(status.code, 0, status.stderr + status.stdout);
  const report = JSON.parse(status.stdout);
  assert.equal(report.ok, true);
  assert.equal(report.token.label, TOKEN);
  assert.equal(report.signing_key.fingerprint, edFingerprint);
  assert.equal(report.signing_key.mechanism, 'CKM_EDDSA');
  assert.deepEqual(report.checks.map((c: { name: string; ok: boolean }) => `${c.name}:${c.ok}`), ['connect:true', 'keys:true', 'signing key:true', 'probe signature:true']);
  const text = hsm(['status', '--config', config]);
  assert.match(text.stdout, /check +ok +probe signature: signed a probe with CKM_EDDSA; it verifies/);
  assert.match(text.stdout, /status +OK/);
});

test('status fails (exit 1) with the failing check named: wrong PIN, missing key', () => {
  const wrong = hsm(['status', '--config', config], { QBIND_HSM_PIN: '99999999' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /check +FAIL connect: \[HSM_LOGIN_FAILED\] login to token 'qbind-validator-42' failed/);
  const missing = hsm(['status', '--config', config, '--key-label', 'not-there']);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /check +FAIL signing key: \[HSM_KEY_NOT_FOUND\] no private key labelled 'not-there'/);
});

test('backup: public keys always, a non-extractable key never, an extractable one only wrapped (and it unwraps and signs)', () => {
  store.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', PIN, '--keygen', '--key-type', 'AES:32', '--label', 'backup-wrap', '--usage-wrap', '--sensitive']);
  store.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', PIN, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'legacy-p256', '--id', '0c', '--extractable']);
  const dir = join(store.dir, 'backup');
  const r = hsm(['backup', '--config', config, '--dir', dir, '--wrap-key-label', 'backup-wrap']);
  assert.equal(r.code, 0, r.stderr);
  const manifest = JSON.parse(readFileSync(join(dir, 'hsm-backup.json'), 'utf8'));
  assert.equal(manifest.format, 'qbind-hsm-backup v1');
  const ed = manifest.keys.find((k: { label: string }) => k.label === 'qbind-consensus-42');
  assert.equal(ed.private_key, 'not-extractable');
  assert.equal(ed.wrapped_file, null);
  assert.equal(ed.fingerprint, edFingerprint);
  const legacy = manifest.keys.find((k: { label: string }) => k.label === 'legacy-p256');
  assert.equal(legacy.private_key, 'wrapped');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, legacy.wrapped_file)).mode & 0o777, 0o600);
  const blob = readFileSync(join(dir, legacy.wrapped_file));

  // The wrapped blob is only usable inside a token holding the wrapping key: unwrap it there and sign.
  const lib = new pkcs11js.PKCS11();
  lib.load(store.libraryPath);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === TOKEN)!;
    const s = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    lib.C_Login(s, pkcs11js.CKU_USER, PIN);
    lib.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_LABEL, value: 'backup-wrap' }]);
    const wrapKey = lib.C_FindObjects(s, 1)[0]!;
    lib.C_FindObjectsFinal(s);
    const restored = lib.C_UnwrapKey(s, { mechanism: 0x210a }, wrapKey, blob, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_LABEL, value: 'restored' },
    ]);
    const msg = Buffer.from('restored from backup');
    lib.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, restored);
    const sig = lib.C_Sign(s, createHash('sha256').update(msg).digest(), Buffer.alloc(64));
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), Buffer.from(legacy.public_key, 'base64')]), format: 'der', type: 'spki' });
    assert.ok(nodeVerify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, sig));
    lib.C_CloseSession(s);
  } finally {
    lib.C_Finalize();
    lib.close();
  }
  // A second backup into the same folder is refused, not merged.
  expectError(hsm(['backup', '--config', config, '--dir', dir]), 1, 'FILE_EXISTS');
});

test('migrate: the keystore unlocks, and a token without ML-DSA refuses the key before it is sent', () => {
  const ks = join(store.dir, 'keystore');
  const gen = run('qbind-keygen', ['generate', '--output', ks, '--validator-id', '42', '--key-role', 'consensus', '--encrypt', '--passphrase-env', 'KS_PASS', '--profile', 'devnet', '--iterations', '2000'], { KS_PASS: PASSPHRASE });
  assert.equal(gen.code, 0, gen.stderr);
  const before = JSON.parse(hsm(['list', '--config', config, '--output', 'json']).stdout).keys.length;
  const args = ['migrate', '--config', config, '--keystore', ks, '--passphrase-env', 'KS_PASS', '--profile', 'devnet', '--key-label', 'migrated-42'];
  expectError(hsm(args, { QBIND_HSM_PIN: PIN, KS_PASS: 'wrong passphrase entirely' }), 1, 'WRONG_PASSPHRASE');
  expectError(hsm(args, { QBIND_HSM_PIN: PIN, KS_PASS: PASSPHRASE }), 1, 'HSM_MECHANISM_UNSUPPORTED', /does not offer CKM_ML_DSA \(0x1d\), needed to sign with an imported ml-dsa-44 key/);
  expectError(hsm(args, { KS_PASS: PASSPHRASE }), 1, 'HSM_PIN_MISSING');
  assert.equal(JSON.parse(hsm(['list', '--config', config, '--output', 'json']).stdout).keys.length, before, 'nothing was written to the token');
});
