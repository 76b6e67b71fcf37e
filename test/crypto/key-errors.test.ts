// Bad input to the crypto core: every wrong key length, malformed public keys,
// out-of-range ECDSA scalars, unknown suites and bad ciphertexts give a
// CryptoError with the documented code, and no error text carries key bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { p256 } from '@noble/curves/nist.js';
import {
  CryptoError,
  decapsulate,
  encapsulate,
  generateKemKey,
  generateSigningKey,
  importKemKey,
  importKemPublicKey,
  importPrivateKeyBytes,
  importPublicKeyBytes,
  importSigningKey,
  importVerifyKey,
  privateKeyLength,
  publicKeyLength,
  SIGNATURE_SUITES,
  signingKeyFromPrivate,
  signSync,
  suiteById,
  suiteByName,
  verifySignature,
  type CryptoErrorCode,
  type KeyAlgorithm,
} from '../../src/crypto/index.ts';
import { readTlv } from '../../src/crypto/der.ts';

const ALGORITHMS: KeyAlgorithm[] = ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87', 'ml-kem-768', 'ed25519', 'secp256k1', 'p-256'];
const EXPECTED_SIZES: Record<KeyAlgorithm, [number, number]> = {
  'ml-dsa-44': [32, 1312],
  'ml-dsa-65': [32, 1952],
  'ml-dsa-87': [32, 2592],
  'ml-kem-768': [64, 1184],
  ed25519: [32, 32],
  secp256k1: [32, 33],
  'p-256': [32, 33],
};

function throwsCode(fn: () => unknown, code: CryptoErrorCode, secret?: Uint8Array): CryptoError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CryptoError, `expected CryptoError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (secret && secret.length >= 8) {
    // Neither the message nor anything chained to it shows the key bytes.
    const text = [caught.message, String(caught.stack), String((caught.cause as Error | undefined)?.message ?? '')].join('\n').toLowerCase();
    const hex = Buffer.from(secret).toString('hex');
    assert.ok(!text.includes(hex.slice(0, 16)), 'error text contains key bytes (hex)');
    assert.ok(!text.includes(Buffer.from(secret).toString('base64').slice(0, 12).toLowerCase()), 'error text contains key bytes (base64)');
  }
  return caught;
}

test('documented key sizes', () => {
  for (const alg of ALGORITHMS) {
    assert.deepEqual([privateKeyLength(alg), publicKeyLength(alg)], EXPECTED_SIZES[alg], alg);
  }
  for (const suite of SIGNATURE_SUITES) {
    assert.deepEqual([suite.privateKeyBytes, suite.publicKeyBytes], EXPECTED_SIZES[suite.name], suite.name);
  }
});

test('every wrong private and public key length is BAD_KEY_LENGTH naming the sizes', () => {
  for (const alg of ALGORITHMS) {
    const [priv, pub] = EXPECTED_SIZES[alg];
    for (const n of new Set([0, 1, priv - 1, priv + 1, 2 * priv, pub])) {
      if (n === priv) continue;
      const bytes = randomBytes(n);
      const err = throwsCode(() => importPrivateKeyBytes(alg, bytes), 'BAD_KEY_LENGTH', bytes);
      assert.match(err.message, new RegExp(`${alg} private key must be ${priv} bytes, got ${n}`));
    }
    for (const n of new Set([0, 1, pub - 1, pub + 1, priv, 2 * pub])) {
      if (n === pub) continue;
      const err = throwsCode(() => importPublicKeyBytes(alg, randomBytes(n)), 'BAD_KEY_LENGTH');
      assert.match(err.message, new RegExp(`${alg} public key must be ${pub} bytes, got ${n}`));
    }
  }
  // The suite-level and KEM-level entry points check the same.
  for (const suite of SIGNATURE_SUITES) {
    throwsCode(() => importSigningKey(suite, randomBytes(suite.privateKeyBytes + 1)), 'BAD_KEY_LENGTH');
    throwsCode(() => importVerifyKey(suite, randomBytes(suite.publicKeyBytes - 1)), 'BAD_KEY_LENGTH');
    throwsCode(() => verifySignature(suite, randomBytes(suite.publicKeyBytes + 1), Buffer.from('m'), randomBytes(suite.signatureBytes)), 'BAD_KEY_LENGTH');
  }
  throwsCode(() => importKemKey(randomBytes(32)), 'BAD_KEY_LENGTH');
  throwsCode(() => importKemKey(randomBytes(65)), 'BAD_KEY_LENGTH');
  throwsCode(() => importKemPublicKey(randomBytes(1183)), 'BAD_KEY_LENGTH');
  throwsCode(() => encapsulate(randomBytes(1185)), 'BAD_KEY_LENGTH');
});

test('ECDSA private scalars outside [1, n-1] are BAD_KEY_ENCODING; the edges inside are accepted', () => {
  const orders: Record<'secp256k1' | 'p-256', bigint> = {
    secp256k1: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
    'p-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  };
  const be32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
  for (const [name, n] of Object.entries(orders) as [keyof typeof orders, bigint][]) {
    for (const bad of [0n, n, n + 1n, (1n << 256n) - 1n]) {
      const bytes = be32(bad);
      const err = throwsCode(() => importSigningKey(suiteByName(name), bytes), 'BAD_KEY_ENCODING', bad === 0n ? undefined : bytes);
      assert.match(err.message, /private scalar is out of range/);
    }
    const curve = name === 'secp256k1' ? secp256k1 : p256;
    for (const good of [1n, n - 1n]) {
      const pair = importSigningKey(suiteByName(name), be32(good));
      assert.equal(pair.publicKey.toString('hex'), Buffer.from(curve.getPublicKey(be32(good), true)).toString('hex'));
    }
  }
});

test('malformed EC public keys are BAD_KEY_ENCODING: wrong prefix, x not on the curve, x >= p', () => {
  for (const [name, curve] of [['secp256k1', secp256k1], ['p-256', p256]] as const) {
    const good = generateSigningKey(suiteByName(name)).publicKey;
    for (const prefix of [0x00, 0x04, 0x05, 0xff]) {
      const bad = Buffer.from(good);
      bad[0] = prefix;
      const err = throwsCode(() => importPublicKeyBytes(name, bad), 'BAD_KEY_ENCODING');
      assert.match(err.message, /compressed SEC1 point/);
    }
    // The smallest x that is not on the curve, found with noble (independent).
    let notOnCurve: Buffer | undefined;
    for (let x = 1; x < 64 && !notOnCurve; x++) {
      const cand = Buffer.alloc(33);
      cand[0] = 0x02;
      cand[32] = x;
      try {
        curve.Point.fromBytes(cand);
      } catch {
        notOnCurve = cand;
      }
    }
    assert.ok(notOnCurve);
    throwsCode(() => importPublicKeyBytes(name, notOnCurve), 'BAD_KEY_ENCODING');
    const xTooBig = Buffer.alloc(33, 0xff);
    xTooBig[0] = 0x03;
    throwsCode(() => importPublicKeyBytes(name, xTooBig), 'BAD_KEY_ENCODING');
  }
});

test('Ed25519: a 32-byte string that is not a point is accepted on import but never verifies (decoded at verification)', () => {
  // OpenSSL keeps raw Ed25519 public keys and decodes them when verifying; see docs/crypto.md.
  const suite = suiteByName('ed25519');
  const signer = generateSigningKey(suite);
  const msg = Buffer.from('m');
  const sig = signSync(signer, msg);
  let nonPoint: Buffer | undefined;
  for (let y = 2; y < 64 && !nonPoint; y++) {
    const cand = Buffer.alloc(32);
    cand[0] = y;
    try {
      ed25519.Point.fromBytes(cand);
    } catch {
      nonPoint = cand;
    }
  }
  assert.ok(nonPoint);
  assert.equal(verifySignature(suite, nonPoint, msg, sig), false);
  assert.equal(verifySignature(suite, Buffer.alloc(32, 0xff), msg, sig), false);
});

test('signatures of the wrong size, or ECDSA r/s out of range, never verify (false, no throw)', () => {
  for (const suite of SIGNATURE_SUITES) {
    const pair = generateSigningKey(suite);
    const msg = Buffer.from('message');
    const sig = signSync(pair, msg);
    assert.ok(verifySignature(suite, pair.publicKey, msg, sig));
    assert.equal(verifySignature(suite, pair.publicKey, msg, sig.subarray(0, sig.length - 1)), false);
    assert.equal(verifySignature(suite, pair.publicKey, msg, Buffer.concat([sig, Buffer.from([0])])), false);
    assert.equal(verifySignature(suite, pair.publicKey, msg, Buffer.alloc(0)), false);
    if (suite.family === 'ecdsa') {
      const zeroS = Buffer.from(sig);
      zeroS.fill(0, 32);
      assert.equal(verifySignature(suite, pair.publicKey, msg, zeroS), false);
      const bigR = Buffer.from(sig);
      bigR.fill(0xff, 0, 32);
      assert.equal(verifySignature(suite, pair.publicKey, msg, bigR), false);
    }
  }
});

test('unknown suites are UNKNOWN_SUITE and list the known ones', () => {
  for (const id of [0, 4, 99, 103, 200, 65535]) {
    const err = throwsCode(() => suiteById(id), 'UNKNOWN_SUITE');
    assert.match(err.message, /100=ml-dsa-44/);
  }
  throwsCode(() => suiteByName('rsa'), 'UNKNOWN_SUITE');
  throwsCode(() => suiteByName('ml-kem-768'), 'UNKNOWN_SUITE');
  assert.equal(suiteByName('ML-DSA-44').id, 100);
});

test('ML-KEM ciphertexts of the wrong length are BAD_CIPHERTEXT', () => {
  const pair = generateKemKey();
  for (const n of [0, 1, 1087, 1089, 1568]) {
    const err = throwsCode(() => decapsulate(pair.privateKey, randomBytes(n)), 'BAD_CIPHERTEXT');
    assert.match(err.message, new RegExp(`must be 1088 bytes, got ${n}`));
  }
});

test('malformed DER is BAD_KEY_ENCODING', () => {
  throwsCode(() => readTlv(Buffer.from([0x30]), 0), 'BAD_KEY_ENCODING');
  throwsCode(() => readTlv(Buffer.from([0x30, 0x05, 0x00]), 0), 'BAD_KEY_ENCODING');
  throwsCode(() => readTlv(Buffer.from([0x30, 0x80]), 0), 'BAD_KEY_ENCODING');
  throwsCode(() => readTlv(Buffer.from([0x30, 0x84, 0, 0, 0, 1, 0]), 0), 'BAD_KEY_ENCODING');
});

test('a KeyObject of another algorithm or curve is never labelled with a suite (BAD_KEY_ENCODING)', () => {
  const ed = generateKeyPairSync('ed25519');
  const p256key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const dsa65 = generateKeyPairSync('ml-dsa-65');
  const cases: [string, Parameters<typeof signingKeyFromPrivate>[1]][] = [
    ['ml-dsa-44', ed.privateKey],
    ['ml-dsa-44', dsa65.privateKey],
    ['secp256k1', p256key.privateKey],
    ['p-256', ed.privateKey],
    ['ed25519', dsa65.privateKey],
  ];
  for (const [name, key] of cases) {
    const err = throwsCode(() => signingKeyFromPrivate(suiteByName(name), key), 'BAD_KEY_ENCODING');
    assert.match(err.message, new RegExp(`expected a private ${name} key, got a private`));
  }
  // A public key where a private one is needed.
  throwsCode(() => signingKeyFromPrivate(suiteByName('ed25519'), ed.publicKey), 'BAD_KEY_ENCODING');
  // Verification with a KeyObject of the wrong algorithm is refused, not answered.
  const sig = Buffer.alloc(2420);
  throwsCode(() => verifySignature(suiteByName('ml-dsa-44'), dsa65.publicKey, Buffer.from('m'), sig), 'BAD_KEY_ENCODING');
  throwsCode(() => verifySignature(suiteByName('secp256k1'), p256key.publicKey, Buffer.from('m'), Buffer.alloc(64)), 'BAD_KEY_ENCODING');
  // ML-KEM: only ML-KEM-768 keys encapsulate and decapsulate.
  throwsCode(() => decapsulate(dsa65.privateKey, Buffer.alloc(1088)), 'BAD_KEY_ENCODING');
  throwsCode(() => decapsulate(generateKemKey().publicKeyObject, Buffer.alloc(1088)), 'BAD_KEY_ENCODING');
  throwsCode(() => encapsulate(ed.publicKey), 'BAD_KEY_ENCODING');
  // The right ones pass.
  assert.equal(signingKeyFromPrivate(suiteByName('ed25519'), ed.privateKey).publicKey.length, 32);
  assert.equal(signingKeyFromPrivate(suiteByName('p-256'), p256key.privateKey).publicKey.length, 33);
  assert.equal(signingKeyFromPrivate(suiteByName('ml-dsa-65'), dsa65.privateKey).publicKey.length, 1952);
});
