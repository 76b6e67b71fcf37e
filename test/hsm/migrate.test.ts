// migrateKeystoreKey: an EncryptedFsV1 keystore's ML-DSA-44 consensus key
// moved into a token as a non-extractable key that signs for the same public
// key, then used by HsmPkcs11Signer with the keystore's public key as the
// expected one. ML-DSA needs the emulated PKCS#11 3.2 layer over SoftHSM2
// (test/hsm/recording-api.ts); SoftHSM2 2.6's own refusal is in cli.test.ts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { suiteById, SUITE_ML_DSA_44, verifySignature } from '../../src/crypto/index.ts';
import { createHsmSigner } from '../../src/hsm/hsm-signer.ts';
import { HsmError } from '../../src/hsm/hsm-error.ts';
import { migrateKeystoreKey } from '../../src/hsm/migrate.ts';
import { Pkcs11Provider } from '../../src/hsm/provider.ts';
import { CKA_EXTRACTABLE, CKA_SEED, CKA_SENSITIVE, CKA_VALUE } from '../../src/hsm/pkcs11-constants.ts';
import { generateKeystore, KeystoreError } from '../../src/keystore/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { createSoftHsmStore, type SoftHsmStore } from '../helpers/softhsm.ts';
import { RecordingApi } from './recording-api.ts';

const PIN = '12121212';
const PASSPHRASE = 'a keystore passphrase that is long enough';
const TOKEN = 'qbind-migrate';
const logLines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
let store: SoftHsmStore;
let api: RecordingApi;
let lib: InstanceType<typeof pkcs11js.PKCS11>;

before(() => {
  store = createSoftHsmStore();
  store.initToken(TOKEN, PIN);
  lib = new pkcs11js.PKCS11();
  lib.load(store.libraryPath);
  api = new RecordingApi(lib, { emulateMlDsa: true });
});

after(() => {
  store.cleanup();
  for (const l of logLines) assert.ok(!l.includes(PIN) && !l.includes(PASSPHRASE), 'no PIN or passphrase in logs');
});

test('a keystore consensus key migrates, is non-extractable, and the HSM signer signs for the keystore public key', async () => {
  const dir = join(store.dir, 'keystore');
  const generated = await generateKeystore({ dir, validatorId: 42n, roles: ['consensus'], passphrase: PASSPHRASE, profile: 'devnet-v0', iterations: 2000, onWarning: () => undefined });
  const keystorePublic = Buffer.from(generated.keys[0]!.publicKey);
  const provider = new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, api, logger });
  await provider.connect();
  try {
    await assert.rejects(
      migrateKeystoreKey(provider, { keystoreDir: dir, passphrase: 'not the passphrase', profile: 'devnet-v0', label: 'qbind-consensus-42' }),
      (e: unknown) => e instanceof KeystoreError && e.code === 'WRONG_PASSPHRASE',
    );
    assert.equal((await provider.listKeys()).length, 0);

    const mark = api.calls.length;
    const r = await migrateKeystoreKey(provider, { keystoreDir: dir, passphrase: PASSPHRASE, profile: 'devnet-v0', label: 'qbind-consensus-42', validatorId: 42n });
    assert.equal(r.validatorId, 42n);
    assert.equal(r.keystoreFingerprint, generated.keys[0]!.fingerprint);
    assert.deepEqual(r.key.publicKey, keystorePublic);
    assert.equal(r.key.keyType, 'ml-dsa-44');
    assert.equal(r.key.sensitive, true);
    assert.equal(r.key.extractable, false);
    const priv = api.calls.slice(mark).filter((c) => c.fn === 'C_CreateObject').map((c) => c.templates![0]!).find((t) => t.some((a) => a.type === CKA_SEED))!;
    assert.equal(priv.find((a) => a.type === CKA_SENSITIVE)?.value, true);
    assert.equal(priv.find((a) => a.type === CKA_EXTRACTABLE)?.value, false);
    assert.equal((priv.find((a) => a.type === CKA_VALUE)?.value as Buffer).length, 2560);
    // The private value cannot be read back off the token.
    const handle = (await provider.resolveKey('qbind-consensus-42')).handle!;
    const s = lib.C_OpenSession(lib.C_GetSlotList(true).find((sl) => lib.C_GetTokenInfo(sl).label.trim() === TOKEN)!, 6);
    assert.throws(() => api.C_GetAttributeValue(s, handle, [{ type: CKA_SEED }]), /CKR_ATTRIBUTE_SENSITIVE/);
    lib.C_CloseSession(s);

    await assert.rejects(
      migrateKeystoreKey(provider, { keystoreDir: dir, passphrase: PASSPHRASE, profile: 'devnet-v0', label: 'qbind-consensus-42' }),
      (e: unknown) => e instanceof HsmError && e.code === 'HSM_KEY_EXISTS',
    );
  } finally {
    await provider.close();
  }

  const configPath = join(store.dir, 'hsm.toml');
  writeFileSync(configPath, `library_path = "${store.libraryPath}"\ntoken_label = "${TOKEN}"\nkey_label = "qbind-consensus-42"\npin_env_var = "QBIND_HSM_PIN"\nkey_type = "ML-DSA-44"\n`);
  const signer = await createHsmSigner({ configPath, validatorId: 42n, chainId: QBIND_DEVNET_CHAIN_ID, env: { QBIND_HSM_PIN: PIN }, api, logger, expectedPublicKey: keystorePublic, expectedSuiteId: SUITE_ML_DSA_44 });
  const preimage = encodePreimage({ kind: 'vote', chainId: QBIND_DEVNET_CHAIN_ID, view: 11n, blockHash: new Uint8Array(32).fill(3), voterId: 42n });
  const sig = await signer.signVote(preimage);
  assert.ok(verifySignature(suiteById(SUITE_ML_DSA_44), keystorePublic, preimage, sig));
  assert.ok(ml_dsa44.verify(sig, preimage, keystorePublic));
  await signer.close();
});
