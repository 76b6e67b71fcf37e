// Remote signer wire format: round trips, strict decoding of every field, and
// the pinned byte layout of a request and a response.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSignRequest, decodeSignResponse, encodeSignRequest, encodeSignResponse, MAX_PREIMAGE_BYTES, type WireSignRequest } from '../../src/remote/wire.ts';
import { WireError } from '../../src/remote/remote-error.ts';
import { SIGN_ERROR_CODES } from '../../src/signer/sign-error.ts';

const req: WireSignRequest = { requestId: 7n, validatorId: 42n, suiteId: 100, kind: 'vote', view: 3n, preimage: new Uint8Array([1, 2, 3]) };

test('request layout is pinned and round-trips', () => {
  const bytes = encodeSignRequest(req);
  assert.equal(bytes.toString('hex'), '0101' + '0000000000000007' + '000000000000002a' + '0064' + '02' + '01' + '0000000000000003' + '00000003' + '010203');
  assert.deepEqual(decodeSignRequest(bytes), req);
  assert.deepEqual(decodeSignRequest(encodeSignRequest({ ...req, view: null })).view, null);
});

test('responses round-trip for a signature and for every error code', () => {
  const ok = encodeSignResponse({ requestId: 9n, response: { signature: new Uint8Array([0xaa, 0xbb]), error: null } });
  assert.equal(ok.toString('hex'), '0102' + '0000000000000009' + '00' + '00000002' + 'aabb');
  assert.deepEqual(decodeSignResponse(ok), { requestId: 9n, response: { signature: new Uint8Array([0xaa, 0xbb]), error: null } });
  for (const code of SIGN_ERROR_CODES) {
    const msg = { requestId: 1n, response: { signature: null, error: { code, message: `refused: ${code}` } } };
    assert.deepEqual(decodeSignResponse(encodeSignResponse(msg)), msg);
  }
});

test('strict decoding: version, type, kind, flags, lengths, truncation, trailing bytes', () => {
  const good = encodeSignRequest(req);
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const cases: [string, Buffer, RegExp][] = [
    ['version', mutate((b) => (b[0] = 2)), /wire version 2/],
    ['type', mutate((b) => (b[1] = 2)), /message type/],
    ['kind', mutate((b) => (b[20] = 9)), /kind code 9/],
    ['view flag', mutate((b) => (b[21] = 2)), /view flag/],
    ['absent view nonzero', mutate((b) => (b[21] = 0)), /view must be zero/],
    ['preimage length', mutate((b) => b.writeUInt32BE(MAX_PREIMAGE_BYTES + 1, 30)), /exceeds/],
    ['trailing', Buffer.concat([good, Buffer.from([0])]), /trailing/],
  ];
  for (const [name, bytes, re] of cases) {
    assert.throws(() => decodeSignRequest(bytes), (e: unknown) => e instanceof WireError && re.test(e.message), name);
  }
  for (let n = 0; n < good.length; n++) assert.throws(() => decodeSignRequest(good.subarray(0, n)), WireError);
  const badStatus = encodeSignResponse({ requestId: 1n, response: { signature: null, error: { code: 'UNAUTHORIZED', message: 'x' } } });
  badStatus[10] = 200;
  assert.throws(() => decodeSignResponse(badStatus), /unknown error status 200/);
});
