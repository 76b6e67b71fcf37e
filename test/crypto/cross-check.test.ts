// Independent cross-checks: every signature suite and ML-KEM-768 against the
// @noble JavaScript implementations (devDependencies, tests only). The same
// private bytes give the same public key; our signatures verify under noble
// and noble's under ours; KEM ciphertexts decapsulate in both directions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { p256 } from '@noble/curves/nist.js';
// @noble/hashes comes with @noble/post-quantum (its dependency); used only for the HashML-DSA check.
import { sha256 } from '@noble/hashes/sha2.js';
import { decapsulate, encapsulate, exportKemKey, exportSigningKey, generateKemKey, generateSigningKey, importKemKey, importSigningKey, SIGNATURE_SUITES, signAsync, signSync, suiteByName, verifySignature, type SignatureSuite, type SignatureSuiteName } from '../../src/crypto/index.ts';

/** The noble counterpart of one suite, normalised to (private bytes -> public key, sign, verify). */
interface Oracle {
  publicKey(privateBytes: Uint8Array): Uint8Array;
  sign(message: Uint8Array, privateBytes: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

function mlDsaOracle(impl: typeof ml_dsa44): Oracle {
  return {
    publicKey: (seed) => impl.keygen(seed).publicKey,
    sign: (msg, seed) => impl.sign(msg, impl.keygen(seed).secretKey),
    verify: (sig, msg, pk) => impl.verify(sig, msg, pk),
  };
}

function ecdsaOracle(curve: typeof secp256k1): Oracle {
  // prehash: noble hashes the message with SHA-256 first, as we do; lowS as we emit.
  return {
    publicKey: (d) => curve.getPublicKey(d, true),
    sign: (msg, d) => curve.sign(msg, d, { prehash: true, lowS: true }),
    verify: (sig, msg, pk) => curve.verify(sig, msg, pk, { prehash: true, lowS: true }),
  };
}

const ORACLES: Record<SignatureSuiteName, Oracle> = {
  'ml-dsa-44': mlDsaOracle(ml_dsa44),
  'ml-dsa-65': mlDsaOracle(ml_dsa65),
  'ml-dsa-87': mlDsaOracle(ml_dsa87),
  ed25519: { publicKey: (s) => ed25519.getPublicKey(s), sign: (m, s) => ed25519.sign(m, s), verify: (sig, m, pk) => ed25519.verify(sig, m, pk) },
  secp256k1: ecdsaOracle(secp256k1),
  'p-256': ecdsaOracle(p256),
};

const ORDER: Record<string, bigint> = {
  secp256k1: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  'p-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};

const message = Buffer.from('QBIND_VOTE_V1 cross-check message');
const other = Buffer.from('QBIND_VOTE_V1 cross-check messagf');

function privateBytesOf(suite: SignatureSuite): Buffer {
  const pair = generateSigningKey(suite);
  return exportSigningKey(pair);
}

for (const suite of SIGNATURE_SUITES) {
  const oracle = ORACLES[suite.name];

  test(`${suite.name} (suite ${suite.id}): same private bytes give the same public key as noble`, () => {
    for (let i = 0; i < 3; i++) {
      const priv = privateBytesOf(suite);
      assert.equal(priv.length, suite.privateKeyBytes);
      const ours = importSigningKey(suite, priv);
      assert.equal(ours.publicKey.length, suite.publicKeyBytes);
      assert.equal(ours.publicKey.toString('hex'), Buffer.from(oracle.publicKey(priv)).toString('hex'));
      // The stored form survives a round trip.
      assert.deepEqual(exportSigningKey(ours), priv);
    }
  });

  test(`${suite.name}: our signatures verify under noble and noble's under ours`, async () => {
    const priv = privateBytesOf(suite);
    const ours = importSigningKey(suite, priv);
    const pk = ours.publicKey;

    const sigSync = signSync(ours, message);
    const sigAsync = await signAsync(ours, message);
    for (const sig of [sigSync, sigAsync]) {
      assert.equal(sig.length, suite.signatureBytes);
      assert.ok(verifySignature(suite, pk, message, sig), 'ours verifies under ours');
      assert.ok(oracle.verify(sig, message, pk), 'ours verifies under noble');
      assert.equal(oracle.verify(sig, other, pk), false, 'noble refuses it for another message');
    }

    const theirs = oracle.sign(message, priv);
    assert.equal(theirs.length, suite.signatureBytes);
    assert.ok(verifySignature(suite, pk, message, theirs), "noble's verifies under ours");
    assert.equal(verifySignature(suite, pk, other, theirs), false);
    const flipped = Buffer.from(theirs);
    flipped[flipped.length >> 1]! ^= 0x01;
    assert.equal(verifySignature(suite, pk, message, flipped), false);
  });
}

test('ML-DSA signs in pure mode with an empty context, hedged (two signatures differ, both verify)', () => {
  const suite = suiteByName('ml-dsa-44');
  const seed = privateBytesOf(suite);
  const pair = importSigningKey(suite, seed);
  const a = signSync(pair, message);
  const b = signSync(pair, message);
  assert.notDeepEqual(a, b, 'hedged signing draws fresh randomness');
  // noble with an explicit empty context accepts, with any other context refuses: the context is empty.
  assert.ok(ml_dsa44.verify(a, message, pair.publicKey, { context: new Uint8Array(0) }));
  assert.equal(ml_dsa44.verify(a, message, pair.publicKey, { context: Buffer.from('QBIND') }), false);
  // Not HashML-DSA: the pre-hash variant (which works for its own signatures) does not accept it.
  const hashMlDsa = ml_dsa44.prehash(sha256);
  assert.ok(hashMlDsa.verify(hashMlDsa.sign(message, ml_dsa44.keygen(seed).secretKey), message, pair.publicKey));
  assert.equal(hashMlDsa.verify(a, message, pair.publicKey), false);
  // A noble signature under a non-empty context does not verify under ours.
  const ctxSig = ml_dsa44.sign(message, ml_dsa44.keygen(seed).secretKey, { context: Buffer.from('QBIND') });
  assert.equal(verifySignature(suite, pair.publicKey, message, ctxSig), false);
});

test('Ed25519 is deterministic: our signature is byte-identical to noble\'s', () => {
  const suite = suiteByName('ed25519');
  const seed = privateBytesOf(suite);
  const ours = signSync(importSigningKey(suite, seed), message);
  assert.equal(ours.toString('hex'), Buffer.from(ed25519.sign(message, seed)).toString('hex'));
});

for (const name of ['secp256k1', 'p-256'] as const) {
  test(`${name}: we sign SHA-256(message) as r||s with low S`, () => {
    const suite = suiteByName(name);
    const curve = name === 'secp256k1' ? secp256k1 : p256;
    const d = privateBytesOf(suite);
    const pair = importSigningKey(suite, d);
    const half = ORDER[name]! >> 1n;
    for (let i = 0; i < 16; i++) {
      const sig = signSync(pair, message);
      const s = BigInt('0x' + sig.subarray(32).toString('hex'));
      assert.ok(s > 0n && s <= half, 'low S');
      // Verifies as a signature over the SHA-256 digest (prehash: false, digest given).
      const digest = createHash('sha256').update(message).digest();
      assert.ok(curve.verify(sig, digest, pair.publicKey, { prehash: false }));
    }
  });
}

for (const [name, curve, accepted] of [['secp256k1', secp256k1, false], ['p-256', p256, true]] as const) {
  test(`${name}: the high-S twin of a valid signature is ${accepted ? 'accepted' : 'refused (malleable form)'} by us, valid under noble with lowS off`, () => {
    const suite = suiteByName(name);
    const pair = importSigningKey(suite, privateBytesOf(suite));
    const sig = signSync(pair, message);
    const n = ORDER[name]!;
    const high = Buffer.from(sig);
    Buffer.from((n - BigInt('0x' + sig.subarray(32).toString('hex'))).toString(16).padStart(64, '0'), 'hex').copy(high, 32);
    assert.ok(curve.verify(high, message, pair.publicKey, { prehash: true, lowS: false }), 'it is a valid signature');
    assert.equal(curve.verify(high, message, pair.publicKey, { prehash: true, lowS: true }), false, 'and it is high-S');
    assert.equal(verifySignature(suite, pair.publicKey, message, high), accepted);
  });
}

test('ML-KEM-768: same 64-byte seed gives the same keys; ciphertexts decapsulate in both directions', () => {
  for (let i = 0; i < 3; i++) {
    const seed = randomBytes(64);
    const ours = importKemKey(seed);
    const theirs = ml_kem768.keygen(seed);
    assert.equal(ours.publicKey.toString('hex'), Buffer.from(theirs.publicKey).toString('hex'));
    assert.deepEqual(exportKemKey(ours), seed);

    // noble encapsulates to our public key; we decapsulate.
    const fromNoble = ml_kem768.encapsulate(ours.publicKey);
    assert.equal(decapsulate(ours.privateKey, fromNoble.cipherText).toString('hex'), Buffer.from(fromNoble.sharedSecret).toString('hex'));

    // We encapsulate (to raw bytes and to a KeyObject); noble decapsulates.
    for (const target of [ours.publicKey, ours.publicKeyObject]) {
      const enc = encapsulate(target);
      assert.equal(enc.ciphertext.length, 1088);
      assert.equal(enc.sharedSecret.length, 32);
      assert.equal(Buffer.from(ml_kem768.decapsulate(enc.ciphertext, theirs.secretKey)).toString('hex'), enc.sharedSecret.toString('hex'));
      // A tampered ciphertext gives a different (implicit-rejection) secret in both implementations, the same one.
      const bad = Buffer.from(enc.ciphertext);
      bad[0]! ^= 0x01;
      const ourReject = decapsulate(ours.privateKey, bad);
      assert.notDeepEqual(ourReject, enc.sharedSecret);
      assert.equal(ourReject.toString('hex'), Buffer.from(ml_kem768.decapsulate(bad, theirs.secretKey)).toString('hex'));
    }
  }
  const fresh = generateKemKey();
  assert.equal(fresh.publicKey.length, 1184);
});
