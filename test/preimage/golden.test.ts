// Golden preimages (test/vectors/preimages.json, documented in
// docs/preimages.md): both directions. Encoding the fixed fields gives exactly
// the committed hex, parsing the hex gives exactly the fields, and each
// committed malformed preimage is refused with its documented code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodePreimage, heightOf, LAYOUTS, layoutLength, MESSAGE_KINDS, parsePreimage, parsePreimageOf, PreimageError, signerIdOf, type MessageKind, type Preimage } from '../../src/preimage/index.ts';

interface GoldenFile {
  valid: { name: string; kind: MessageKind; fields: Record<string, string>; length: number; hex: string }[];
  invalid: { name: string; hex: string; error: string }[];
}

const golden = JSON.parse(readFileSync(new URL('../vectors/preimages.json', import.meta.url), 'utf8')) as GoldenFile;

/** Builds the typed preimage from the file's string fields, driven by the layout table. */
function toPreimage(kind: MessageKind, fields: Record<string, string>): Preimage {
  const layout = LAYOUTS[kind];
  assert.deepEqual(Object.keys(fields).sort(), layout.fields.map((f) => f.name).sort(), `${kind}: fields match the layout`);
  const out: Record<string, unknown> = { kind };
  for (const f of layout.fields) {
    const v = fields[f.name]!;
    out[f.name] = f.type === 'u64' ? BigInt(v) : new Uint8Array(Buffer.from(v, 'hex'));
  }
  return out as unknown as Preimage;
}

test('every message kind has a golden vector', () => {
  for (const kind of MESSAGE_KINDS) assert.ok(golden.valid.some((v) => v.kind === kind), kind);
});

test('encode(fields) gives the committed hex, byte for byte', () => {
  for (const v of golden.valid) {
    const bytes = encodePreimage(toPreimage(v.kind, v.fields));
    assert.equal(bytes.length, v.length, v.name);
    assert.equal(bytes.length, layoutLength(LAYOUTS[v.kind]), v.name);
    assert.equal(bytes.toString('hex'), v.hex, v.name);
  }
});

test('parse(hex) gives the committed fields', () => {
  for (const v of golden.valid) {
    const bytes = Buffer.from(v.hex, 'hex');
    const parsed = parsePreimage(bytes);
    assert.deepEqual(parsed, toPreimage(v.kind, v.fields), v.name);
    assert.equal(parsePreimageOf(v.kind, bytes).kind, v.kind);
    // The signer and the height the double-sign rules key on.
    const f = v.fields;
    const signer = f.proposerId ?? f.voterId ?? f.authorId ?? f.ackerId;
    const height = f.view ?? f.round ?? f.batchRound;
    assert.equal(signerIdOf(parsed), BigInt(signer!), v.name);
    assert.equal(heightOf(parsed), BigInt(height!), v.name);
  }
});

test('the committed malformed preimages are refused with their codes', () => {
  assert.ok(golden.invalid.length >= 5);
  for (const v of golden.invalid) {
    assert.throws(() => parsePreimage(Buffer.from(v.hex, 'hex')), (err: unknown) => err instanceof PreimageError && err.code === v.error, v.name);
  }
});

test('annotated vote of docs/preimages.md: fields sit at the documented offsets', () => {
  const vote = golden.valid.find((v) => v.name === 'vote-devnet')!;
  const b = Buffer.from(vote.hex, 'hex');
  assert.equal(b.subarray(0, 13).toString('ascii'), 'QBIND_VOTE_V1');
  assert.equal(b.subarray(13, 21).toString('ascii'), 'QBINDDEV');
  assert.equal(b.readBigUInt64BE(21), 42n);
  assert.equal(b.subarray(29, 61).toString('hex'), vote.fields.blockHash);
  assert.equal(b.readBigUInt64BE(61), 3n);
});

test('encode refuses kinds that are not layouts, including Object.prototype names, as UNKNOWN_TAG', () => {
  for (const kind of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'Vote', '']) {
    assert.throws(() => encodePreimage({ kind } as unknown as Preimage), (err: unknown) => err instanceof PreimageError && err.code === 'UNKNOWN_TAG', kind);
  }
});
