// Unsigned 64-bit integers written as canonical decimal text (no sign, no
// leading zero, at most 2^64-1): validator ids, views, rounds and chain ids in
// files, flags and database rows. Callers raise their own typed error on null.

const U64_DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const U64_LIMIT = 1n << 64n;

/** The value of a canonical u64 decimal, or null for anything else. */
export function parseU64Decimal(text: unknown): bigint | null {
  if (typeof text !== 'string' || !U64_DECIMAL.test(text)) return null;
  const v = BigInt(text);
  return v < U64_LIMIT ? v : null;
}
