// Low-S normalization of ECDSA r||s signatures (BIP-62 / Cosmos rule): s and
// n - s both verify, so only the smaller is emitted and, on secp256k1, accepted.

const ORDERS: Record<string, bigint> = {
  secp256k1: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  'p-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};

function orderOf(curve: string): bigint {
  const n = ORDERS[curve];
  if (n === undefined) throw new Error(`no group order for ${curve}`);
  return n;
}

function sOf(sig: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(sig.subarray(32, 64)).toString('hex'));
}

export function isHighS(curve: string, sig: Uint8Array): boolean {
  return sOf(sig) > orderOf(curve) >> 1n;
}

export function normalizeLowS(curve: string, sig: Buffer): Buffer {
  if (!isHighS(curve, sig)) return sig;
  const s = orderOf(curve) - sOf(sig);
  const out = Buffer.from(sig);
  Buffer.from(s.toString(16).padStart(64, '0'), 'hex').copy(out, 32);
  return out;
}
