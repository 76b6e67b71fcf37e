// Canonical u64 decimal text: the one parser behind validator ids in flags,
// .pub files, interchange JSON and store rows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseU64Decimal } from '../../src/preimage/u64.ts';

test('accepts exactly the canonical decimals of 0 .. 2^64-1', () => {
  assert.equal(parseU64Decimal('0'), 0n);
  assert.equal(parseU64Decimal('42'), 42n);
  assert.equal(parseU64Decimal('18446744073709551615'), (1n << 64n) - 1n);
  for (const bad of ['18446744073709551616', '99999999999999999999', '-1', '+1', '042', '', ' 1', '1 ', '1e3', '0x10', '4_2', '1.0']) {
    assert.equal(parseU64Decimal(bad), null, bad);
  }
  for (const notText of [42, 42n, null, undefined, ['1']]) assert.equal(parseU64Decimal(notText), null);
});
