// ML-DSA over PKCS#11 3.2. SoftHSM2 2.6 has no ML-DSA, so this is tested two
// ways: (1) against the real SoftHSM2 through a recording layer, asserting the
// exact mechanism and templates we send and that a token without ML-DSA gets
// a clear refusal; (2) end to end (provider, HsmPkcs11Signer, startup checks)
// against the same recording layer emulating CKM_ML_DSA_KEY_PAIR_GEN and
// CKM_ML_DSA with node:crypto, signatures checked by src/crypto and by
// @noble/post-quantum. No real ML-DSA token ran here (docs/hsm.md).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { exportSigningKey, generateSigningKey, suiteByName, verifySignature } from '../../src/crypto/index.ts';
import { createHsmSigner } from '../../src/hsm/hsm-signer.ts';
import { HsmError } from '../../src/hsm/hsm-error.ts';
import { generateTemplates } from '../../src/hsm/key-types.ts';
import { Pkcs11Provider } from '../../src/hsm/provider.ts';
import type { Attribute, Pkcs11Api } from '../../src/hsm/pkcs11-api.ts';
import { createLogger } from '../../src/log/logger.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { createSoftHsmStore, type SoftHsmStore } from '../helpers/softhsm.ts';
import { RecordingApi } from './recording-api.ts';

const PIN = '55667788';
const TOKEN = 'qbind-mldsa';
const logger = createLogger({ level: 'warn', write: () => undefined });
let store: SoftHsmStore;
let real: Pkcs11Api;
let recording: RecordingApi;
let emulating: RecordingApi;

before(() => {
  store = createSoftHsmStore();
  store.initToken(TOKEN, PIN);
  const lib = new pkcs11js.PKCS11();
  lib.load(store.libraryPath);
  real = lib;
  recording = new RecordingApi(real);
  emulating = new RecordingApi(real, { emulateMlDsa: true });
});

after(() => {
  try {
    real.C_Finalize();
  } catch {
    // finalized by the last provider
  }
  store.cleanup();
});

const provider = (api: Pkcs11Api): Pkcs11Provider => new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, api, logger, sessions: 2 });

// Attribute and mechanism values of the OASIS PKCS#11 3.2 header, written out
// here as numbers so a typo in src/hsm/pkcs11-constants.ts cannot hide.
const A = { CLASS: 0x0, TOKEN: 0x1, PRIVATE: 0x2, LABEL: 0x3, VALUE: 0x11, KEY_TYPE: 0x100, ID: 0x102, SENSITIVE: 0x103, SIGN: 0x108, VERIFY: 0x10a, DERIVE: 0x10c, EXTRACTABLE: 0x162, PARAMETER_SET: 0x61d, SEED: 0x637 };
const CKO_PUBLIC_KEY = 2;
const CKO_PRIVATE_KEY = 3;
const CKK_ML_DSA = 0x4a;

function attr(t: Attribute[], type: number): Attribute['value'] {
  const found = t.filter((a) => a.type === type);
  assert.ok(found.length <= 1, `attribute 0x${type.toString(16)} given once`);
  return found[0]?.value;
}

test('SoftHSM2 2.6 has no ML-DSA: keygen and import are refused up front, naming the PKCS#11 3.2 mechanism', async () => {
  const p = provider(recording);
  await p.connect();
  try {
    const mechs = await p.mechanisms();
    assert.ok(!mechs.includes(0x1c) && !mechs.includes(0x1d), 'SoftHSM2 2.6 lists neither CKM_ML_DSA_KEY_PAIR_GEN nor CKM_ML_DSA');
    await assert.rejects(p.generateKey('ml-dsa-44', 'mldsa-gen'), (e: unknown) => e instanceof HsmError && e.code === 'HSM_MECHANISM_UNSUPPORTED' && /does not offer CKM_ML_DSA_KEY_PAIR_GEN \(0x1c\), needed to generate ml-dsa-44 keys/.test(e.message));
    const seed = exportSigningKey(generateSigningKey(suiteByName('ml-dsa-44')));
    await assert.rejects(p.importKey('ml-dsa-44', 'mldsa-imp', seed), (e: unknown) => e instanceof HsmError && e.code === 'HSM_MECHANISM_UNSUPPORTED' && /CKM_ML_DSA \(0x1d\)/.test(e.message));
    assert.equal(recording.of('C_GenerateKeyPair').length + recording.of('C_CreateObject').length, 0, 'nothing was sent to the token');
    assert.equal((await p.listKeys()).length, 0);
  } finally {
    await p.close();
  }
});

for (const [name, ps] of [['ml-dsa-44', 1], ['ml-dsa-65', 2], ['ml-dsa-87', 3]] as const) {
  test(`${name} keygen: the exact C_GenerateKeyPair we send, and SoftHSM2's answer to it`, async () => {
    const p = provider(recording);
    await p.connect();
    const s = real.C_OpenSession(real.C_GetSlotList(true).find((sl) => real.C_GetTokenInfo(sl).label.trim() === TOKEN)!, 6);
    try {
      const id = Buffer.alloc(16, 0xab);
      const t = generateTemplates(name, `gen-${name}`, id);
      assert.throws(() => recording.C_GenerateKeyPair(s, t.mechanism, t.publicTemplate, t.privateTemplate), /CKR_MECHANISM_INVALID/);
      const call = recording.of('C_GenerateKeyPair').at(-1)!;
      assert.equal(call.result, 'CKR_MECHANISM_INVALID');
      assert.equal(call.mechanism, 0x1c);
      assert.equal(call.parameter, undefined, 'CKM_ML_DSA_KEY_PAIR_GEN has no parameter');
      const [pub, priv] = call.templates!;
      assert.deepEqual(pub, [
        { type: A.CLASS, value: CKO_PUBLIC_KEY }, { type: A.KEY_TYPE, value: CKK_ML_DSA }, { type: A.TOKEN, value: true }, { type: A.PRIVATE, value: false },
        { type: A.LABEL, value: `gen-${name}` }, { type: A.ID, value: id }, { type: A.VERIFY, value: true }, { type: A.PARAMETER_SET, value: ps },
      ]);
      assert.deepEqual(priv, [
        { type: A.CLASS, value: CKO_PRIVATE_KEY }, { type: A.KEY_TYPE, value: CKK_ML_DSA }, { type: A.TOKEN, value: true }, { type: A.PRIVATE, value: true },
        { type: A.LABEL, value: `gen-${name}` }, { type: A.ID, value: id }, { type: A.SIGN, value: true }, { type: A.DERIVE, value: false },
        { type: A.SENSITIVE, value: true }, { type: A.EXTRACTABLE, value: false },
      ]);
      assert.equal(attr(priv!, A.PARAMETER_SET), undefined, 'PKCS#11 3.2: the parameter set is in the public template only');
    } finally {
      real.C_CloseSession(s);
      await p.close();
    }
  });
}

function flatConfig(label: string, extra = ''): string {
  const path = join(store.dir, `hsm-${label}.toml`);
  writeFileSync(path, `library_path = "${store.libraryPath}"\ntoken_label = "${TOKEN}"\nkey_label = "${label}"\npin_env_var = "QBIND_HSM_PIN"\n${extra}`);
  return path;
}

const ORACLE = { 'ml-dsa-44': ml_dsa44, 'ml-dsa-65': ml_dsa65, 'ml-dsa-87': ml_dsa87 };
const chainId = QBIND_DEVNET_CHAIN_ID;
const vote = (view: bigint) => encodePreimage({ kind: 'vote', chainId, view, blockHash: new Uint8Array(32).fill(5), voterId: 42n });

for (const name of ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'] as const) {
  test(`${name} end to end on the emulated PKCS#11 3.2 token: generate, HsmPkcs11Signer, verify`, async () => {
    const admin = provider(emulating);
    await admin.connect();
    const label = `emu-${name}`;
    const info = await admin.generateKey(name, label);
    const suite = suiteByName(name);
    assert.equal(info.keyType, name);
    assert.equal(info.publicKey!.length, suite.publicKeyBytes);
    assert.equal(info.sensitive && !info.extractable && info.local, true);
    const signer = await createHsmSigner({ configPath: flatConfig(label, `key_type = "${name.toUpperCase()}"\n`), validatorId: 42n, chainId, env: { QBIND_HSM_PIN: PIN }, logger, api: emulating, expectedPublicKey: info.publicKey! });
    const mark = emulating.calls.length;
    const preimage = vote(7n);
    const sig = await signer.signVote(preimage);
    assert.equal(sig.length, suite.signatureBytes);
    assert.ok(verifySignature(suite, info.publicKey!, preimage, sig), 'src/crypto verifies');
    assert.ok(ORACLE[name].verify(sig, preimage, info.publicKey!), '@noble/post-quantum verifies');
    const init = emulating.calls.slice(mark).find((c) => c.fn === 'C_SignInit')!;
    assert.equal(init.mechanism, 0x1d, 'CKM_ML_DSA');
    assert.equal(init.parameter, undefined, 'no CK_SIGN_ADDITIONAL_CONTEXT: pure ML-DSA, empty context, as src/crypto signs');
    const signCall = emulating.calls.slice(mark).find((c) => c.fn === 'C_SignAsync')!;
    assert.deepEqual(signCall.data, Buffer.from(preimage), 'the preimage itself is signed, not a digest');
    assert.equal(suite.id, signer.suiteId);
    await signer.close();
    await admin.close();
  });
}

test('ML-DSA import (migration form): seed and expanded key sent, non-extractable, signs for the software public key', async () => {
  const p = provider(emulating);
  await p.connect();
  const soft = generateSigningKey(suiteByName('ml-dsa-44'));
  const seed = exportSigningKey(soft);
  const mark = emulating.calls.length;
  const info = await p.importKey('ml-dsa-44', 'imported-mldsa', seed);
  assert.deepEqual(info.publicKey, soft.publicKey);
  assert.equal(info.local, false);
  const creates = emulating.calls.slice(mark).filter((c) => c.fn === 'C_CreateObject');
  assert.equal(creates.length, 2);
  const priv = creates.map((c) => c.templates![0]!).find((t) => attr(t, A.CLASS) === CKO_PRIVATE_KEY)!;
  const pub = creates.map((c) => c.templates![0]!).find((t) => attr(t, A.CLASS) === CKO_PUBLIC_KEY)!;
  assert.equal(attr(priv, A.KEY_TYPE), CKK_ML_DSA);
  assert.equal(attr(priv, A.PARAMETER_SET), 1);
  assert.equal(attr(priv, A.SENSITIVE), true);
  assert.equal(attr(priv, A.EXTRACTABLE), false);
  assert.deepEqual(attr(priv, A.SEED), seed, 'CKA_SEED is the FIPS 204 seed xi');
  assert.equal((attr(priv, A.VALUE) as Buffer).length, 2560, 'CKA_VALUE is the FIPS 204 expanded private key');
  assert.deepEqual(attr(pub, A.VALUE), soft.publicKey);
  assert.equal(attr(pub, A.PARAMETER_SET), 1);
  const msg = Buffer.from('migrated ML-DSA key');
  assert.ok(ml_dsa44.verify(await p.sign('imported-mldsa', msg), msg, soft.publicKey));
  // The import's own proof-of-signing probe is in the record too.
  assert.ok(emulating.calls.slice(mark).some((c) => c.fn === 'C_SignAsync' && c.data!.subarray(0, 21).toString() === 'QBIND_HSM_SELFTEST_V1'));
  await p.close();
});
