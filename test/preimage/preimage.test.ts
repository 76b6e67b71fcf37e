// Preimage builders and strict parsers: round trips, and rejection of wrong
// tags, truncation, trailing bytes and inconsistent fields.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePreimage, heightOf, LAYOUTS, layoutLength, MESSAGE_KINDS, parsePreimage, parsePreimageOf, PreimageError, QBIND_DEVNET_CHAIN_ID, signerIdOf, type Preimage } from '../../src/preimage/index.ts';

const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const chainId = QBIND_DEVNET_CHAIN_ID;

export const SAMPLES: Preimage[] = [
  { kind: 'proposal', chainId, view: 10n, blockHash: h(1), proposerId: 42n, parentHash: h(2), justifyQcView: 9n },
  { kind: 'vote', chainId, view: 10n, blockHash: h(1), voterId: 42n },
  { kind: 'timeout', chainId, view: 11n, highQcHash: h(3), voterId: 42n, highQcView: 10n },
  { kind: 'batch', chainId, authorId: 42n, round: 5n, batchDigest: h(4) },
  { kind: 'batch-ack', chainId, ackerId: 42n, batchAuthorId: 7n, batchRound: 5n, batchDigest: h(5) },
];

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof PreimageError && err.code === code);
}

test('every kind round-trips and has the documented length', () => {
  assert.equal(SAMPLES.length, MESSAGE_KINDS.length);
  for (const p of SAMPLES) {
    const bytes = encodePreimage(p);
    assert.equal(bytes.length, layoutLength(LAYOUTS[p.kind]));
    assert.equal(bytes.subarray(0, LAYOUTS[p.kind].tag.length).toString('ascii'), LAYOUTS[p.kind].tag);
    assert.deepEqual(parsePreimage(bytes), p);
    assert.equal(signerIdOf(parsePreimage(bytes)), 42n);
  }
  assert.equal(heightOf(SAMPLES[3]!), 5n);
});

test('integers are big-endian u64 and hashes are copied verbatim', () => {
  const bytes = encodePreimage({ kind: 'vote', chainId: 0x0102030405060708n, view: 0xffffffffffffffffn, blockHash: h(0xab), voterId: 1n });
  assert.equal(bytes.subarray(13, 21).toString('hex'), '0102030405060708');
  assert.equal(bytes.subarray(21, 29).toString('hex'), 'ffffffffffffffff');
  assert.equal(bytes.subarray(29, 61).toString('hex'), 'ab'.repeat(32));
  assert.equal(bytes.subarray(61).toString('hex'), '0000000000000001');
});

test('rejects truncation at every length and any trailing byte', () => {
  for (const p of SAMPLES) {
    const bytes = encodePreimage(p);
    const tagLen = LAYOUTS[p.kind].tag.length;
    for (let n = 0; n < bytes.length; n++) {
      expectCode(() => parsePreimage(bytes.subarray(0, n)), n < tagLen ? 'UNKNOWN_TAG' : 'TRUNCATED');
    }
    expectCode(() => parsePreimage(Buffer.concat([bytes, Buffer.from([0])])), 'TRAILING_BYTES');
  }
});

test('rejects unknown and altered tags', () => {
  const vote = encodePreimage(SAMPLES[1]!);
  for (const tag of ['QBIND_VOTE_V2', 'qbind_vote_v1', 'QBIND_VOTE_V0', 'XBIND_VOTE_V1']) {
    const bad = Buffer.from(vote);
    bad.write(tag, 0, 'ascii');
    expectCode(() => parsePreimage(bad), 'UNKNOWN_TAG');
  }
  expectCode(() => parsePreimageOf('proposal', vote), 'UNKNOWN_TAG');
  assert.equal(parsePreimageOf('vote', vote).voterId, 42n);
});

test('rejects inconsistent fields on build and on parse', () => {
  const badProposal: Preimage = { ...(SAMPLES[0] as Extract<Preimage, { kind: 'proposal' }>), justifyQcView: 10n };
  expectCode(() => encodePreimage(badProposal), 'INCONSISTENT');
  const badTimeout: Preimage = { kind: 'timeout', chainId, view: 5n, highQcHash: h(0), voterId: 1n, highQcView: 3n };
  expectCode(() => encodePreimage(badTimeout), 'INCONSISTENT');
  // Same check when the bytes come from elsewhere: patch a good timeout's high QC view to equal its view.
  const good = encodePreimage(SAMPLES[2]!);
  good.writeBigUInt64BE(11n, good.length - 8);
  expectCode(() => parsePreimage(good), 'INCONSISTENT');
  const genesis: Preimage = { kind: 'timeout', chainId, view: 1n, highQcHash: h(0), voterId: 1n, highQcView: 0n };
  assert.deepEqual(parsePreimage(encodePreimage(genesis)), genesis);
});

test('builders refuse out-of-range fields', () => {
  expectCode(() => encodePreimage({ kind: 'vote', chainId, view: -1n, blockHash: h(1), voterId: 1n }), 'FIELD_RANGE');
  expectCode(() => encodePreimage({ kind: 'vote', chainId, view: 1n << 64n, blockHash: h(1), voterId: 1n }), 'FIELD_RANGE');
  expectCode(() => encodePreimage({ kind: 'vote', chainId, view: 1n, blockHash: new Uint8Array(31), voterId: 1n }), 'FIELD_RANGE');
});
