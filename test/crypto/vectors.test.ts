// Official test vectors (NIST ACVP, C2SP Wycheproof) for ML-DSA-44 and
// ML-KEM-768, run through our own import, verify and decapsulate functions.
// The vector files in test/vectors/ record where every value came from;
// docs/crypto.md says which ACVP modes are covered and why not the others.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { CryptoError, decapsulate, importKemKey, importKemPublicKey, importSigningKey, importVerifyKey, ML_KEM_768, publicKeyFingerprint, suiteById, SUITE_ML_DSA_44, verifySignature } from '../../src/crypto/index.ts';
import { INTEGER_0, octets, oid, seq } from '../../src/crypto/der.ts';

interface DsaVectors {
  keyGen: { cases: { tcId: number; seed: string; pk: string }[] };
  verify: { publicKey: string; cases: { tcId: number; comment: string; msg: string; sig: string; result: 'valid' | 'invalid' }[] };
}

interface KemVectors {
  keyGen: { cases: { tcId: number; d: string; z: string; ek: string }[] };
  decapsulation: { dk: string; cases: { tcId: number; c: string; k: string }[] };
  seedDecaps: { cases: { tcId: number; seed: string; ek: string; c: string; K: string; result: string }[] };
  encapsulationKeyCheck: { cases: { tcId: number; ek: string; result: string }[] };
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const dsa = load<DsaVectors>('ml-dsa-44.json');
const kem = load<KemVectors>('ml-kem-768.json');
const mlDsa44 = suiteById(SUITE_ML_DSA_44);

test('ACVP ML-DSA-44 keyGen: the public key derived from the seed is the published one', () => {
  assert.ok(dsa.keyGen.cases.length >= 2);
  for (const c of dsa.keyGen.cases) {
    const pair = importSigningKey(mlDsa44, hex(c.seed));
    assert.equal(pair.publicKey.length, 1312, `tcId ${c.tcId}`);
    assert.equal(pair.publicKey.toString('hex'), c.pk, `tcId ${c.tcId}`);
  }
});

test('Wycheproof ML-DSA-44 verify: valid signatures verify, modified ones do not', () => {
  const pk = importVerifyKey(mlDsa44, hex(dsa.verify.publicKey));
  const results = dsa.verify.cases.map((c) => ({ c, ok: verifySignature(mlDsa44, pk, hex(c.msg), hex(c.sig)) }));
  assert.ok(results.some((r) => r.c.result === 'valid') && results.some((r) => r.c.result === 'invalid'));
  for (const { c, ok } of results) assert.equal(ok, c.result === 'valid', `tcId ${c.tcId} (${c.comment})`);
  // The same signature over any other message is refused.
  const valid = dsa.verify.cases.find((c) => c.result === 'valid')!;
  assert.equal(verifySignature(mlDsa44, pk, Buffer.from('Hello world!'), hex(valid.sig)), false);
});

test('ACVP ML-KEM-768 keyGen: the encapsulation key derived from d || z is the published one', () => {
  for (const c of kem.keyGen.cases) {
    const pair = importKemKey(hex(c.d + c.z));
    assert.equal(pair.publicKey.length, ML_KEM_768.publicKeyBytes);
    assert.equal(pair.publicKey.toString('hex'), c.ek, `tcId ${c.tcId}`);
  }
});

test('ACVP ML-KEM-768 decapsulation with the published expanded key gives the published shared secret', () => {
  // FIPS 203 expanded dk as PKCS#8 (ML-KEM-PrivateKey CHOICE expandedKey): only the test needs this form.
  const der = seq(INTEGER_0, seq(oid('0609608648016503040402')), octets(octets(hex(kem.decapsulation.dk))));
  const dk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  for (const c of kem.decapsulation.cases) {
    assert.equal(decapsulate(dk, hex(c.c)).toString('hex'), c.k, `tcId ${c.tcId}`);
  }
});

test('Wycheproof ML-KEM-768 (seed form): key from the 64-byte seed, implicit-rejection decapsulation', () => {
  for (const c of kem.seedDecaps.cases) {
    const pair = importKemKey(hex(c.seed));
    assert.equal(pair.publicKey.toString('hex'), c.ek, `tcId ${c.tcId}`);
    const ct = hex(c.c);
    assert.equal(ct[0], 0, 'the strcmp case starts with a zero byte');
    assert.equal(decapsulate(pair.privateKey, ct).toString('hex'), c.K, `tcId ${c.tcId}`);
  }
});

test('Wycheproof ML-KEM-768 modulus check: an encapsulation key with a coefficient >= q is refused on import', () => {
  assert.ok(kem.encapsulationKeyCheck.cases.length >= 2);
  for (const c of kem.encapsulationKeyCheck.cases) {
    assert.equal(c.result, 'invalid');
    assert.throws(() => importKemPublicKey(hex(c.ek)), (err: unknown) => err instanceof CryptoError && err.code === 'BAD_KEY_ENCODING', `tcId ${c.tcId}`);
  }
  // Control: the same bytes with the first 12-bit coefficient set to 0 import fine (the rest of the key is in range).
  const control = hex(kem.encapsulationKeyCheck.cases[0]!.ek);
  control[0] = 0x00;
  control[1] = control[1]! & 0xf0;
  assert.doesNotThrow(() => importKemPublicKey(control));
});

test('fingerprint: first 16 bytes of SHA3-256 over the raw public key (value documented in docs/crypto.md)', () => {
  const pk = hex(dsa.keyGen.cases[0]!.pk);
  const fp = publicKeyFingerprint(pk);
  assert.equal(fp, Buffer.from(sha3_256(pk)).subarray(0, 16).toString('hex'));
  assert.equal(fp, '61a8e825ab592733b78b5c8a1627d134');
  // FIPS 202 example: SHA3-256("abc") = 3a985da7...
  assert.equal(publicKeyFingerprint(Buffer.from('abc')), '3a985da74fe225b2045c172d6bd390bd');
});
