// The KEMTLS v1 test vector: fixed keys and randomness give exactly the
// handshake bytes and traffic keys pinned in test/vectors/kemtls-v1.json and
// docs/kemtls.md. Checked three ways: our handshake code reproduces it; an
// independent ML-KEM (@noble/post-quantum) derives the same keys, ciphertexts
// and shared secrets; and the key schedule recomputed here straight from the
// spec in docs/kemtls.md (raw node:crypto calls, not src/kemtls) gives the
// same transcript hashes, Finished MACs and traffic keys. Finally the same
// handshake over real TCP puts exactly those bytes on the wire.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { importKemKey } from '../../src/crypto/kem.ts';
import { connect, createKemtlsServer, type KemtlsConnection } from '../../src/kemtls/index.ts';
import { computeVector, VECTOR_CLIENT_MESSAGE, VECTOR_INPUTS, VECTOR_SERVER_MESSAGE, vectorClientEntropy, vectorServerEntropy, type VectorJson } from './vector-fixture.ts';
import { captureLogger, startRecordingProxy } from './helpers.ts';

const vector = JSON.parse(readFileSync(new URL('../vectors/kemtls-v1.json', import.meta.url), 'utf8')) as VectorJson;
const b = (h: string | undefined): Buffer => {
  assert.ok(typeof h === 'string', 'missing vector field');
  return Buffer.from(h, 'hex');
};

test('our handshake code reproduces the pinned vector byte for byte', () => {
  assert.deepEqual(computeVector(), vector);
  assert.equal(b(vector.messages.client_hello).length, 3515);
  assert.equal(b(vector.messages.server_hello).length, 2261);
  assert.equal(b(vector.messages.client_finished).length, 37);
});

test('an independent ML-KEM-768 (noble) agrees on keys, ciphertexts and shared secrets', () => {
  const pairs = [
    ['server_static_seed', 'server_static'],
    ['client_static_seed', 'client_static'],
    ['client_ephemeral_seed', 'client_ephemeral'],
  ] as const;
  const secretKeys: Record<string, Uint8Array> = {};
  for (const [seed, pub] of pairs) {
    const noble = ml_kem768.keygen(b(vector.inputs[seed]));
    assert.equal(Buffer.from(noble.publicKey).toString('hex'), vector.public_keys[pub], `${pub} public key`);
    assert.ok(importKemKey(b(vector.inputs[seed])).publicKey.equals(Buffer.from(noble.publicKey)), `node:crypto ${pub}`);
    secretKeys[pub] = noble.secretKey;
  }
  const cases = [
    ['ct_S', 'ss_S', 'server_static', 'encaps_m_server_static'],
    ['ct_e', 'ss_e', 'client_ephemeral', 'encaps_m_client_ephemeral'],
    ['ct_C', 'ss_C', 'client_static', 'encaps_m_client_static'],
  ] as const;
  for (const [ct, ss, recipient, m] of cases) {
    const enc = ml_kem768.encapsulate(b(vector.public_keys[recipient]), b(vector.inputs[m]));
    assert.equal(Buffer.from(enc.cipherText).toString('hex'), vector.kem[ct], ct);
    assert.equal(Buffer.from(enc.sharedSecret).toString('hex'), vector.kem[ss], ss);
    assert.equal(Buffer.from(ml_kem768.decapsulate(b(vector.kem[ct]), secretKeys[recipient]!)).toString('hex'), vector.kem[ss], `noble decapsulates ${ct}`);
  }
  // The ciphertexts sent in clear are where docs/kemtls.md puts them.
  const ch = b(vector.messages.client_hello);
  const sh = b(vector.messages.server_hello);
  assert.ok(ch.subarray(43, 43 + 1088).equals(b(vector.kem.ct_S)));
  assert.ok(ch.subarray(1131, 1131 + 1184).equals(b(vector.public_keys.client_ephemeral)));
  assert.ok(sh.subarray(37, 37 + 1088).equals(b(vector.kem.ct_e)));
});

test('the key schedule recomputed from the written spec gives the same transcript, MACs and traffic keys', () => {
  const H = (...parts: Buffer[]): Buffer => createHash('sha3-256').update(Buffer.concat(parts)).digest();
  const label = (l: string, ctx: Buffer): Buffer => Buffer.concat([Buffer.from('qkt1 ' + l), ctx]);
  const mix = (ck: Buffer, ss: Buffer, l: string, th: Buffer, n: number): Buffer => Buffer.from(hkdfSync('sha3-256', ss, ck, label(l, th), n));
  const derive = (ck: Buffer, l: string, ctx: Buffer, n: number): Buffer => Buffer.from(hkdfSync('sha3-256', ck, Buffer.alloc(0), label(l, ctx), n));
  const open = (key: Buffer, aad: Buffer, sealed: Buffer): Buffer => {
    const d = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: sealed.length - 16 });
    d.setAuthTag(sealed.subarray(-16));
    return Buffer.concat([d.update(sealed.subarray(0, -16)), d.final()]);
  };
  const ch = b(vector.messages.client_hello);
  const sh = b(vector.messages.server_hello);
  const cf = b(vector.messages.client_finished);
  const pkS = b(vector.public_keys.server_static);
  const pkC = b(vector.public_keys.client_static);

  const ck0 = H(Buffer.from('QBIND-KEMTLS-v1/ML-KEM-768/HKDF-SHA3-256/ChaCha20-Poly1305'));
  const th1 = H(pkS, ch.subarray(0, 2315));
  const s1 = mix(ck0, b(vector.kem.ss_S), 'ck1', th1, 64);
  const [ck1, kId] = [s1.subarray(0, 32), s1.subarray(32)];
  assert.ok(open(kId, th1, ch.subarray(2315)).equals(pkC), 'encrypted identity is the client static key');
  const th2 = H(pkS, ch, pkC, sh.subarray(0, 1125));
  const s2 = mix(ck1, b(vector.kem.ss_e), 'ck2', th2, 64);
  const [ck2, kSh] = [s2.subarray(0, 32), s2.subarray(32)];
  assert.ok(open(kSh, th2, sh.subarray(1125, 2229)).equals(b(vector.kem.ct_C)), 'encrypted ct_C');
  const th3 = H(pkS, ch, pkC, sh.subarray(0, 2229));
  const s3 = mix(ck2, b(vector.kem.ss_C), 'ck3', th3, 96);
  const [ck3, fkS, fkC] = [s3.subarray(0, 32), s3.subarray(32, 64), s3.subarray(64)];
  const sf = createHmac('sha3-256', fkS).update(th3).digest();
  assert.ok(sf.equals(sh.subarray(2229)), 'ServerFinished');
  const th4 = H(pkS, ch, pkC, sh);
  const cfMac = createHmac('sha3-256', fkC).update(th4).digest();
  assert.ok(cf.equals(Buffer.concat([Buffer.from([0x03, 0, 0, 0, 32]), cfMac])), 'ClientFinished');
  const th5 = H(pkS, ch, pkC, sh, cf);
  assert.deepEqual(
    { th1, th2, th3, th4, th5, ck1, k_id: kId, ck2, k_sh: kSh, ck3, fk_s: fkS, fk_c: fkC },
    Object.fromEntries(Object.entries({ ...vector.transcript, ...vector.key_schedule }).map(([k, v]) => [k, b(v)])),
  );
  const traffic = derive(ck3, 'traffic', th5, 88);
  const c2s = traffic.subarray(0, 44);
  const s2c = traffic.subarray(44);
  assert.equal(c2s.subarray(0, 32).toString('hex'), vector.traffic.client_to_server_key);
  assert.equal(c2s.subarray(32).toString('hex'), vector.traffic.client_to_server_iv);
  assert.equal(s2c.subarray(0, 32).toString('hex'), vector.traffic.server_to_client_key);
  assert.equal(s2c.subarray(32).toString('hex'), vector.traffic.server_to_client_iv);

  // First records: nonce = iv xor 0 (sequence 0), AAD = the 5-byte header, plaintext = u32 length || message.
  for (const [keys, rec, pt] of [[c2s, vector.messages.first_client_record, VECTOR_CLIENT_MESSAGE], [s2c, vector.messages.first_server_record, VECTOR_SERVER_MESSAGE]] as const) {
    const frame = b(rec);
    assert.equal(frame[0], 0x17);
    assert.equal(frame.readUInt32BE(1), 4 + pt.length + 16);
    const d = createDecipheriv('chacha20-poly1305', keys.subarray(0, 32), keys.subarray(32), { authTagLength: 16 });
    d.setAAD(frame.subarray(0, 5), { plaintextLength: 4 + pt.length });
    d.setAuthTag(frame.subarray(-16));
    const plain = Buffer.concat([d.update(frame.subarray(5, -16)), d.final()]);
    assert.equal(plain.readUInt32BE(0), pt.length);
    assert.ok(plain.subarray(4).equals(pt));
  }
});

test('docs/kemtls.md carries the same vector', () => {
  const docs = readFileSync(new URL('../../docs/kemtls.md', import.meta.url), 'utf8').replace(/\s+/g, '');
  for (const [name, value] of [...Object.entries(vector.traffic), ...Object.entries(vector.transcript), ...Object.entries(vector.kem), ...Object.entries(vector.messages)]) {
    assert.ok(docs.includes(value), `docs/kemtls.md lacks ${name}`);
  }
  for (const [name, value] of Object.entries(VECTOR_INPUTS)) assert.ok(docs.includes(value.toString('hex')), `docs/kemtls.md lacks input ${name}`);
});

test('over real TCP the same inputs put exactly the vector bytes on the wire', async () => {
  const serverKey = importKemKey(VECTOR_INPUTS.server_static_seed);
  const clientKey = importKemKey(VECTOR_INPUTS.client_static_seed);
  const log = captureLogger();
  const { logger } = log;
  const server = createKemtlsServer({ serverKey, allowedClients: [clientKey.publicKey], entropy: vectorServerEntropy(), logger });
  const gotConnection = new Promise<KemtlsConnection>((resolve) => server.once('connection', resolve));
  const addr = await server.listen(0, '127.0.0.1');
  const proxy = await startRecordingProxy(addr.port);
  try {
    const conn = await connect({ host: '127.0.0.1', port: proxy.port, clientKey, serverPublicKey: serverKey.publicKey, entropy: vectorClientEntropy(), logger });
    const serverConn = await gotConnection;
    const atServer = new Promise<Buffer>((resolve) => serverConn.once('message', resolve));
    conn.send(VECTOR_CLIENT_MESSAGE);
    assert.ok((await atServer).equals(VECTOR_CLIENT_MESSAGE));
    const atClient = new Promise<Buffer>((resolve) => conn.once('message', resolve));
    serverConn.send(VECTOR_SERVER_MESSAGE);
    assert.ok((await atClient).equals(VECTOR_SERVER_MESSAGE));
    const m = vector.messages;
    assert.equal(proxy.upstream().toString('hex'), m.client_hello! + m.client_finished! + m.first_client_record!);
    assert.equal(proxy.downstream().toString('hex'), m.server_hello! + m.first_server_record!);
    conn.close();
    await new Promise((resolve) => serverConn.once('close', resolve));
    // Nothing secret reached the logs, in hex or base64.
    const text = log.lines.join('\n');
    assert.ok(log.lines.length >= 1);
    const secrets = [
      ...['server_static_seed', 'client_static_seed', 'client_ephemeral_seed'].map((k) => vector.inputs[k]),
      vector.kem.ss_S, vector.kem.ss_e, vector.kem.ss_C, ...Object.values(vector.key_schedule), ...Object.values(vector.traffic),
    ];
    for (const secret of secrets) {
      for (const form of [secret!, b(secret).toString('base64'), secret!.slice(0, 16)]) assert.ok(!text.includes(form), 'secret in log');
    }
  } finally {
    await server.close();
    await proxy.close();
  }
});
