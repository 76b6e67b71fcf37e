// The v1 key file format: the docs/keystore.md test vector rebuilt byte for
// byte by an independent implementation (@noble primitives, layout written out
// from the doc), sealing gives the vector, opening gives the key back, and every
// damaged form (truncation, any flipped byte, other version, tampering with a
// recomputed checksum, wrong passphrase) fails with its own code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { generateKemKey, exportKemKey } from '../../src/crypto/index.ts';
import { FORMAT_VERSION, keyFileLength, KeystoreError, parseKeyFile, sealKeyFile, unsealKeyFile } from '../../src/keystore/index.ts';

interface Vector {
  passphrase: string;
  iterations: number;
  validatorId: string;
  role: 'consensus';
  suiteId: number;
  salt: string;
  nonce: string;
  privateKey: string;
  publicKey: string;
  master: string;
  encryptionKey: string;
  passphraseCheck: string;
  file: string;
}

const v = JSON.parse(readFileSync(new URL('./vector-v1.json', import.meta.url), 'utf8')) as Vector;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const fileBytes = hex(v.file);
const master = pbkdf2Sync(v.passphrase, hex(v.salt), v.iterations, 32, 'sha256');

function u16(n: number): Uint8Array {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeystoreError, `expected a KeystoreError, got ${String(err)}`);
    return err.code;
  }
  return 'NO_ERROR';
}

test('test vector: an independent implementation of docs/keystore.md builds the same bytes', () => {
  const enc = new TextEncoder();
  const m = pbkdf2(sha256, enc.encode(v.passphrase), hex(v.salt), { c: v.iterations, dkLen: 32 });
  assert.equal(Buffer.from(m).toString('hex'), v.master);
  const key = hkdf(sha256, m, new Uint8Array(0), enc.encode('QBIND keystore v1 encryption key'), 32);
  const check = hkdf(sha256, m, new Uint8Array(0), enc.encode('QBIND keystore v1 passphrase check'), 16);
  assert.equal(Buffer.from(key).toString('hex'), v.encryptionKey);
  assert.equal(Buffer.from(check).toString('hex'), v.passphraseCheck);
  const { publicKey } = ml_dsa44.keygen(hex(v.privateKey));
  assert.equal(Buffer.from(publicKey).toString('hex'), v.publicKey);

  const validator = Buffer.alloc(8);
  validator.writeBigUInt64BE(BigInt(v.validatorId));
  const iterations = Buffer.alloc(4);
  iterations.writeUInt32BE(v.iterations);
  const aad = Buffer.concat([
    Buffer.from('QBINDKEY'), u16(1), Buffer.of(1), u16(100), validator, Buffer.of(1), iterations,
    hex(v.salt), hex(v.nonce), check, u16(1312), publicKey, u16(32),
  ]);
  const sealed = chacha20poly1305(key, hex(v.nonce), aad).encrypt(hex(v.privateKey));
  const body = Buffer.concat([aad, sealed]);
  const rebuilt = Buffer.concat([body, sha3_256(body)]);
  assert.equal(rebuilt.length, 1482);
  assert.equal(rebuilt.toString('hex'), v.file);
});

test('test vector: sealKeyFile with the fixed inputs gives exactly the vector bytes', () => {
  const out = sealKeyFile({
    role: 'consensus',
    validatorId: BigInt(v.validatorId),
    publicKey: hex(v.publicKey),
    privateKey: hex(v.privateKey),
    encryption: { master, iterations: v.iterations, salt: hex(v.salt), nonce: hex(v.nonce) },
  });
  assert.equal(out.toString('hex'), v.file);
  assert.equal(out.length, keyFileLength('consensus'));
});

test('test vector: parsing and unsealing gives the key and every header field back', () => {
  const parsed = parseKeyFile(fileBytes, 'vector');
  assert.equal(parsed.version, FORMAT_VERSION);
  assert.equal(parsed.role, 'consensus');
  assert.equal(parsed.suiteId, 100);
  assert.equal(parsed.validatorId, 42n);
  assert.equal(parsed.protection, 'pbkdf2-sha256-chacha20-poly1305');
  assert.equal(parsed.iterations, v.iterations);
  assert.equal(parsed.salt.toString('hex'), v.salt);
  assert.equal(parsed.nonce.toString('hex'), v.nonce);
  assert.equal(parsed.publicKey.toString('hex'), v.publicKey);
  const secret = unsealKeyFile(parsed, master, 'vector');
  assert.equal(secret.toString('hex'), v.privateKey);
  // The independent AEAD opens it too.
  const key = hkdf(sha256, master, new Uint8Array(0), new TextEncoder().encode('QBIND keystore v1 encryption key'), 32);
  const opened = chacha20poly1305(key, parsed.nonce, parsed.aad).decrypt(Buffer.concat([parsed.sealed, parsed.tag]));
  assert.equal(Buffer.from(opened).toString('hex'), v.privateKey);
});

test('wrong passphrase is told apart from a modified file', () => {
  const parsed = parseKeyFile(fileBytes, 'vector');
  const wrong = pbkdf2Sync(v.passphrase + 'x', hex(v.salt), v.iterations, 32, 'sha256');
  assert.equal(codeOf(() => unsealKeyFile(parsed, wrong, 'vector')), 'WRONG_PASSPHRASE');
  assert.equal(codeOf(() => unsealKeyFile(parsed, null, 'vector')), 'PASSPHRASE_REQUIRED');
});

test('tampering with a recomputed checksum fails authentication (header and ciphertext bound)', () => {
  // Offsets: 13 validator id, 90 public key, 1402 sealed key, 1434 tag.
  for (const offset of [13 + 7, 88 + 5, 88 + 1312 + 2 + 3, 1482 - 32 - 1]) {
    const t = Buffer.from(fileBytes);
    t[offset]! ^= 0x01;
    const body = t.subarray(0, t.length - 32);
    createHash('sha3-256').update(body).digest().copy(t, t.length - 32);
    const parsed = parseKeyFile(t, 'tampered');
    assert.equal(codeOf(() => unsealKeyFile(parsed, master, 'tampered')), 'KEY_FILE_TAMPERED', `offset ${offset}`);
  }
});

test('any single flipped bit in any byte is caught before the passphrase is tried', () => {
  const codes = new Map<string, number>();
  for (let i = 0; i < fileBytes.length; i++) {
    const t = Buffer.from(fileBytes);
    t[i]! ^= 0x10;
    const code = codeOf(() => parseKeyFile(t, 'flipped'));
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  assert.equal(codes.get('NO_ERROR'), undefined);
  // Magic bytes give NOT_KEYSTORE, version bytes UNSUPPORTED_VERSION, the rest CORRUPT.
  assert.equal(codes.get('KEY_FILE_NOT_KEYSTORE'), 8);
  assert.equal(codes.get('KEY_FILE_UNSUPPORTED_VERSION'), 2);
  assert.equal(codes.get('KEY_FILE_CORRUPT'), fileBytes.length - 10);
});

test('truncation at every length is reported as truncated (or empty / not a key file)', () => {
  for (let len = 0; len < fileBytes.length; len++) {
    const code = codeOf(() => parseKeyFile(fileBytes.subarray(0, len), 'short'));
    assert.equal(code, len === 0 ? 'KEY_FILE_NOT_KEYSTORE' : 'KEY_FILE_TRUNCATED', `length ${len}`);
  }
  assert.equal(codeOf(() => parseKeyFile(Buffer.concat([fileBytes, Buffer.of(0)]), 'long')), 'KEY_FILE_CORRUPT');
});

test('unknown format version and foreign files get their own errors', () => {
  const v2 = Buffer.from(fileBytes);
  v2.writeUInt16BE(2, 8);
  assert.throws(() => parseKeyFile(v2, 'v2.key'), (e: unknown) => e instanceof KeystoreError && e.code === 'KEY_FILE_UNSUPPORTED_VERSION' && /version 2; this qbind-keygen reads version 1/.test(e.message));
  assert.equal(codeOf(() => parseKeyFile(Buffer.from('-----BEGIN PRIVATE KEY-----\n'), 'pem')), 'KEY_FILE_NOT_KEYSTORE');
});

test('p2p-identity (ML-KEM-768) and plaintext files round-trip', () => {
  const kem = generateKemKey();
  const seed = exportKemKey(kem);
  const plain = sealKeyFile({ role: 'p2p-identity', validatorId: 7n, publicKey: kem.publicKey, privateKey: seed, encryption: null });
  assert.equal(plain.length, keyFileLength('p2p-identity'));
  const parsed = parseKeyFile(plain, 'plain');
  assert.equal(parsed.protection, 'plaintext');
  assert.equal(parsed.suiteId, 200);
  assert.ok(unsealKeyFile(parsed, null, 'plain').equals(seed));
  const enc = sealKeyFile({ role: 'p2p-identity', validatorId: 7n, publicKey: kem.publicKey, privateKey: seed, encryption: { master, iterations: 5, salt: Buffer.alloc(32, 1), nonce: Buffer.alloc(12, 2) } });
  assert.ok(!enc.includes(seed), 'the sealed file must not contain the seed');
  assert.ok(unsealKeyFile(parseKeyFile(enc, 'enc'), master, 'enc').equals(seed));
});
