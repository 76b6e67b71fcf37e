// generateKeystore / openKeystore / scanKeystore / createEncryptedFsSigner on
// real folders: files and modes as documented, batch-signing served by the
// consensus key, binding to role and validator, permission and plaintext
// policies per profile, no overwrite, and signatures that an independent
// ML-DSA-44 implementation accepts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { decapsulate } from '../../src/crypto/index.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID, QBIND_MAINNET_CHAIN_ID, QBIND_TESTNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { createEncryptedFsSigner, generateKeystore, KeystoreError, openKeystore, readPublicKeyFile, scanKeystore } from '../../src/keystore/index.ts';
import { snapshot, tempDir } from './helpers.ts';

const PASS = 'Kx-keystore-api-test-passphrase-4412';
const IT = 1000;

async function rejectsCode(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeystoreError, `expected KeystoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    assert.ok(!e.message.includes(PASS));
    return true;
  });
}

test('generate writes <role>.key 0600 and <role>.pub in a 0700 folder; open gives every role', async (t) => {
  const dir = join(tempDir(t), 'keystore');
  const g = await generateKeystore({ dir, validatorId: 42n, roles: ['consensus', 'p2p-identity', 'batch-signing'], passphrase: PASS, profile: 'testnet-beta', iterations: IT });
  assert.deepEqual(readdirSync(dir).sort(), ['consensus.key', 'consensus.pub', 'p2p_identity.key', 'p2p_identity.pub']);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'consensus.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'p2p_identity.key')).mode & 0o777, 0o600);
  assert.deepEqual(g.keys.map((k) => [k.role, k.storedAs, k.suiteId]), [['consensus', 'consensus', 100], ['p2p-identity', 'p2p-identity', 200], ['batch-signing', 'consensus', 100]]);
  assert.equal(g.keys[2]!.fingerprint, g.keys[0]!.fingerprint, 'batch-signing shares the consensus key');
  for (const name of ['consensus.key', 'p2p_identity.key']) assert.ok(!readFileSync(join(dir, name)).includes(Buffer.from(PASS)));

  const pub = readPublicKeyFile(join(dir, 'p2p_identity.pub'));
  assert.equal(pub.role, 'p2p-identity');
  assert.equal(pub.suite.name, 'ml-kem-768');
  assert.equal(pub.validatorId, 42n);

  const ks = await openKeystore(dir, { passphrase: PASS, profile: 'testnet-beta' });
  assert.equal(ks.validatorId, 42n);
  assert.deepEqual(ks.roles.sort(), ['batch-signing', 'consensus', 'p2p-identity']);
  assert.strictEqual(ks.signingKey('batch-signing'), ks.signingKey('consensus'));
  assert.ok(Buffer.from(g.keys[0]!.publicKey).equals(ks.signingKey('consensus').publicKey));
  // The KEM key decapsulates what an independent ML-KEM-768 encapsulates to its .pub.
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(pub.publicKey);
  assert.ok(decapsulate(ks.kemKey().privateKey, cipherText).equals(Buffer.from(sharedSecret)));
  ks.close();
  assert.throws(() => ks.signingKey('consensus'), (e: unknown) => e instanceof KeystoreError && e.code === 'KEYSTORE_CLOSED');

  const only = await openKeystore(dir, { passphrase: PASS, profile: 'testnet-beta', roles: ['batch-signing'] });
  assert.deepEqual(only.roles, ['consensus', 'batch-signing']);
  assert.throws(() => only.kemKey(), (e: unknown) => e instanceof KeystoreError && e.code === 'KEY_NOT_LOADED');
});

test('a keystore with only batch-signing requested gets the consensus key files', async (t) => {
  const dir = tempDir(t);
  const g = await generateKeystore({ dir, validatorId: 5n, roles: ['batch-signing'], passphrase: PASS, profile: 'devnet-v0', iterations: IT });
  assert.deepEqual(readdirSync(dir).sort(), ['consensus.key', 'consensus.pub']);
  assert.equal(g.keys[0]!.storedAs, 'consensus');
  await rejectsCode(openKeystore(dir, { passphrase: PASS, profile: 'devnet-v0', roles: ['p2p-identity'] }), 'KEY_FILE_MISSING', /no p2p_identity\.key/);
});

test('nothing is overwritten unless asked; a refused generate changes nothing', async (t) => {
  const dir = tempDir(t);
  await generateKeystore({ dir, validatorId: 42n, roles: ['consensus'], passphrase: PASS, profile: 'devnet-v0', iterations: IT });
  const before = snapshot(dir);
  await rejectsCode(generateKeystore({ dir, validatorId: 42n, roles: ['p2p-identity', 'consensus'], passphrase: PASS, profile: 'devnet-v0', iterations: IT }), 'KEY_FILE_EXISTS', /consensus\.key already exists/);
  assert.deepEqual(snapshot(dir), before, 'p2p_identity.key must not have been written either');
  await rejectsCode(generateKeystore({ dir, validatorId: 43n, roles: ['p2p-identity'], passphrase: PASS, profile: 'devnet-v0', iterations: IT }), 'KEYSTORE_VALIDATOR_MISMATCH');
  assert.deepEqual(snapshot(dir), before);
  const again = await generateKeystore({ dir, validatorId: 42n, roles: ['consensus'], passphrase: PASS, profile: 'devnet-v0', iterations: IT, overwrite: true });
  assert.notDeepEqual(snapshot(dir), before);
  const ks = await openKeystore(dir, { passphrase: PASS, profile: 'devnet-v0' });
  assert.ok(ks.signingKey('consensus').publicKey.equals(Buffer.from(again.keys[0]!.publicKey)));
});

test('generate refuses bad arguments before writing anything', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'ks');
  const base = { dir, validatorId: 1n, roles: ['consensus' as const], profile: 'mainnet' as const };
  await rejectsCode(generateKeystore({ ...base, passphrase: 'nineteen characters' }), 'PASSPHRASE_TOO_SHORT');
  await rejectsCode(generateKeystore({ ...base, passphrase: PASS, iterations: 599_999 }), 'BAD_ITERATIONS', /at least 600000/);
  await rejectsCode(generateKeystore({ ...base, passphrase: null }), 'PLAINTEXT_KEY_REFUSED');
  await rejectsCode(generateKeystore({ ...base, profile: 'testnet-alpha', passphrase: null }), 'PLAINTEXT_KEY_REFUSED');
  await rejectsCode(generateKeystore({ ...base, validatorId: 1n << 64n, passphrase: PASS }), 'BAD_VALIDATOR_ID');
  await rejectsCode(generateKeystore({ ...base, roles: [], passphrase: PASS }), 'BAD_KEY_ROLE');
  await rejectsCode(generateKeystore({ ...base, profile: 'devnet-v0', passphrase: '' }), 'PASSPHRASE_EMPTY');
  writeFileSync(join(root, 'file'), 'x');
  await rejectsCode(generateKeystore({ ...base, dir: join(root, 'file', 'ks'), profile: 'devnet-v0', passphrase: PASS, iterations: IT }), 'OUTPUT_NOT_A_DIRECTORY');
  assert.deepEqual(readdirSync(root), ['file']);
});

test('plaintext keys: devnet only, with a warning; refused when loading elsewhere', async (t) => {
  const dir = tempDir(t);
  const warnings: string[] = [];
  await generateKeystore({ dir, validatorId: 9n, roles: ['consensus'], passphrase: null, profile: 'devnet-v0', onWarning: (m) => warnings.push(m) });
  assert.ok(warnings.some((w) => /UNENCRYPTED/.test(w)));
  const opened: string[] = [];
  const ks = await openKeystore(dir, { passphrase: null, profile: 'devnet-v0', onWarning: (m) => opened.push(m) });
  assert.equal(ks.validatorId, 9n);
  assert.ok(opened.some((w) => /UNENCRYPTED/.test(w)));
  await rejectsCode(openKeystore(dir, { passphrase: null, profile: 'testnet-alpha' }), 'PLAINTEXT_KEY_REFUSED');
  await rejectsCode(openKeystore(dir, { passphrase: PASS, profile: 'mainnet' }), 'PLAINTEXT_KEY_REFUSED');
});

test('loose modes: refused on testnet-beta and mainnet, warned on devnet', async (t) => {
  const dir = tempDir(t);
  await generateKeystore({ dir, validatorId: 42n, roles: ['consensus'], passphrase: PASS, profile: 'testnet-beta', iterations: IT });
  chmodSync(join(dir, 'consensus.key'), 0o640);
  await rejectsCode(openKeystore(dir, { passphrase: PASS, profile: 'testnet-beta' }), 'KEY_FILE_PERMISSIONS', /mode 0640/);
  const warnings: string[] = [];
  await openKeystore(dir, { passphrase: PASS, profile: 'devnet-v0', onWarning: (m) => warnings.push(m) });
  assert.ok(warnings.some((w) => /mode 0640/.test(w)));
  chmodSync(join(dir, 'consensus.key'), 0o600);
  chmodSync(dir, 0o777);
  await rejectsCode(openKeystore(dir, { passphrase: PASS, profile: 'testnet-beta' }), 'KEYSTORE_DIR_PERMISSIONS');
  chmodSync(dir, 0o755);
  const w2: string[] = [];
  await openKeystore(dir, { passphrase: PASS, profile: 'testnet-beta', onWarning: (m) => w2.push(m) });
  assert.ok(w2.some((w) => /lets group or other users list it/.test(w)), 'a readable folder is a warning');
  chmodSync(dir, 0o700);
});

test('files renamed or moved between keystores are refused; a stale .pub only warns', async (t) => {
  const root = tempDir(t);
  const a = join(root, 'a');
  const b = join(root, 'b');
  await generateKeystore({ dir: a, validatorId: 42n, roles: ['consensus', 'p2p-identity'], passphrase: PASS, profile: 'devnet-v0', iterations: IT });
  await generateKeystore({ dir: b, validatorId: 43n, roles: ['consensus', 'p2p-identity'], passphrase: PASS, profile: 'devnet-v0', iterations: IT });
  const open = (dir: string, extra: object = {}) => openKeystore(dir, { passphrase: PASS, profile: 'devnet-v0', ...extra });

  const swapped = join(root, 'swapped');
  mkdirSync(swapped, { mode: 0o700 });
  copyFileSync(join(a, 'p2p_identity.key'), join(swapped, 'consensus.key'));
  await rejectsCode(open(swapped), 'KEY_ROLE_MISMATCH', /holds a p2p-identity key, not a consensus key/);

  const mixed = join(root, 'mixed');
  mkdirSync(mixed, { mode: 0o700 });
  for (const f of ['consensus.key', 'consensus.pub']) copyFileSync(join(a, f), join(mixed, f));
  copyFileSync(join(b, 'p2p_identity.key'), join(mixed, 'p2p_identity.key'));
  await rejectsCode(open(mixed), 'KEYSTORE_VALIDATOR_MISMATCH', /different validators/);

  const foreign = join(root, 'foreign');
  mkdirSync(foreign, { mode: 0o700 });
  copyFileSync(join(b, 'consensus.key'), join(foreign, 'consensus.key'));
  copyFileSync(join(a, 'consensus.pub'), join(foreign, 'consensus.pub'));
  await rejectsCode(open(foreign), 'KEYSTORE_VALIDATOR_MISMATCH', /validator 42 but consensus\.key is for validator 43/);
  await rejectsCode(open(b, { validatorId: 42n }), 'KEYSTORE_VALIDATOR_MISMATCH', /not validator 42/);

  // Runbook §10.5.4 step 6 moves only the new p2p_identity.key: the keystore still opens.
  const fresh = join(root, 'new-p2p');
  await generateKeystore({ dir: fresh, validatorId: 42n, roles: ['p2p-identity'], passphrase: PASS, profile: 'devnet-v0', iterations: IT });
  copyFileSync(join(fresh, 'p2p_identity.key'), join(a, 'p2p_identity.key'));
  const warnings: string[] = [];
  const ks = await open(a, { onWarning: (m: string) => warnings.push(m) });
  assert.ok(ks.kemKey().publicKey.equals(Buffer.from(readPublicKeyFile(join(fresh, 'p2p_identity.pub')).publicKey)));
  assert.ok(warnings.some((w) => /p2p_identity\.pub does not match p2p_identity\.key/.test(w)));
  assert.ok(scanKeystore(a, { profile: 'devnet-v0' }).problems.some((p) => p.code === 'PUBLIC_KEY_STALE' && p.severity === 'warning'));
});

test('missing, empty and unsupported keystores', async (t) => {
  const root = tempDir(t);
  await rejectsCode(openKeystore(join(root, 'nope'), { passphrase: PASS, profile: 'devnet-v0' }), 'KEYSTORE_NOT_FOUND');
  await rejectsCode(openKeystore(root, { passphrase: PASS, profile: 'devnet-v0' }), 'KEYSTORE_EMPTY');
  writeFileSync(join(root, 'batch_signing.key'), 'x', { mode: 0o600 });
  await rejectsCode(openKeystore(root, { passphrase: PASS, profile: 'devnet-v0' }), 'KEY_ROLE_UNSUPPORTED');
  writeFileSync(join(root, 'f'), '');
  await rejectsCode(openKeystore(join(root, 'f'), { passphrase: PASS, profile: 'devnet-v0' }), 'KEYSTORE_NOT_A_DIRECTORY');
});

test('mainnet refuses key files below 600,000 iterations', async (t) => {
  const dir = tempDir(t);
  await generateKeystore({ dir, validatorId: 42n, roles: ['consensus'], passphrase: PASS, profile: 'testnet-beta', iterations: IT });
  await rejectsCode(openKeystore(dir, { passphrase: PASS, profile: 'mainnet' }), 'KEY_FILE_WEAK_KDF', /1000 PBKDF2 iterations/);
});

test('EncryptedFsV1 signer: signatures verify under an independent ML-DSA-44 and the .pub key', async (t) => {
  const dir = tempDir(t);
  await generateKeystore({ dir, validatorId: 42n, roles: ['consensus', 'p2p-identity'], passphrase: PASS, profile: 'testnet-beta', iterations: IT });
  const signer = await createEncryptedFsSigner({ keystoreDir: dir, passphrase: PASS, chainId: QBIND_TESTNET_CHAIN_ID, profile: 'testnet-beta' });
  assert.equal(signer.validatorId, 42n);
  assert.equal(signer.suiteId, 100);
  const preimage = encodePreimage({ kind: 'vote', chainId: QBIND_TESTNET_CHAIN_ID, view: 9n, blockHash: new Uint8Array(32).fill(7), voterId: 42n });
  const sig = await signer.signVote(preimage);
  const pub = readPublicKeyFile(join(dir, 'consensus.pub'));
  assert.ok(ml_dsa44.verify(sig, preimage, pub.publicKey));
  assert.ok(!ml_dsa44.verify(sig, preimage.map((x, i) => (i === preimage.length - 1 ? x ^ 1 : x)), pub.publicKey));
  await assert.rejects(signer.signVote(encodePreimage({ kind: 'vote', chainId: QBIND_TESTNET_CHAIN_ID, view: 9n, blockHash: new Uint8Array(32), voterId: 43n })), /validator 43/);
  await signer.close();

  await rejectsCode(createEncryptedFsSigner({ keystoreDir: dir, passphrase: PASS + '!', chainId: QBIND_TESTNET_CHAIN_ID, profile: 'testnet-beta' }), 'WRONG_PASSPHRASE');
  await rejectsCode(createEncryptedFsSigner({ keystoreDir: dir, passphrase: PASS, chainId: QBIND_MAINNET_CHAIN_ID, profile: 'testnet-beta' }), 'CHAIN_ID_MISMATCH');
  await rejectsCode(createEncryptedFsSigner({ keystoreDir: dir, passphrase: PASS, chainId: QBIND_DEVNET_CHAIN_ID, profile: 'mainnet' }), 'CHAIN_ID_MISMATCH');
  await rejectsCode(createEncryptedFsSigner({ keystoreDir: dir, passphrase: PASS, chainId: QBIND_TESTNET_CHAIN_ID, profile: 'testnet-beta', validatorId: 7n }), 'KEYSTORE_VALIDATOR_MISMATCH');
});
