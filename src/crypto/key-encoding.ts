// Raw key bytes <-> node:crypto KeyObjects. Private keys are kept and stored as
// their smallest standard form (ML-DSA seed xi, ML-KEM seed d||z, Ed25519 seed,
// ECDSA scalar); public keys raw (FIPS 203/204 encodings, Ed25519 point,
// compressed SEC1 point). Sizes are checked on import. See docs/crypto.md.

import { createPrivateKey, createPublicKey, ECDH, type KeyObject } from 'node:crypto';
import { CryptoError } from './crypto-error.ts';
import { bitString, children, INTEGER_0, INTEGER_1, octets, oid, pkcs8PrivateKeyField, readTlv, seq, tlv, TAG_CONTEXT_0_PRIMITIVE, TAG_OCTET_STRING, TAG_SEQUENCE } from './der.ts';

/** The algorithms this module can encode: every signature suite and ML-KEM-768. */
export type KeyAlgorithm = 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87' | 'ml-kem-768' | 'ed25519' | 'secp256k1' | 'p-256';

interface AlgorithmEncoding {
  privateBytes: number;
  publicBytes: number;
  /** AlgorithmIdentifier SEQUENCE contents (OID and parameters). */
  algorithmId: Buffer;
  kind: 'seed' | 'eddsa' | 'ec';
  /** OpenSSL curve name for ECDSA. */
  curve?: string;
  /** Group order, for the ECDSA scalar range check. */
  order?: bigint;
}

const EC_PUBLIC_KEY = oid('06072a8648ce3d0201');
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const ENCODINGS: Record<KeyAlgorithm, AlgorithmEncoding> = {
  'ml-dsa-44': { privateBytes: 32, publicBytes: 1312, algorithmId: oid('0609608648016503040311'), kind: 'seed' },
  'ml-dsa-65': { privateBytes: 32, publicBytes: 1952, algorithmId: oid('0609608648016503040312'), kind: 'seed' },
  'ml-dsa-87': { privateBytes: 32, publicBytes: 2592, algorithmId: oid('0609608648016503040313'), kind: 'seed' },
  'ml-kem-768': { privateBytes: 64, publicBytes: 1184, algorithmId: oid('0609608648016503040402'), kind: 'seed' },
  ed25519: { privateBytes: 32, publicBytes: 32, algorithmId: oid('06032b6570'), kind: 'eddsa' },
  secp256k1: { privateBytes: 32, publicBytes: 33, algorithmId: Buffer.concat([EC_PUBLIC_KEY, oid('06052b8104000a')]), kind: 'ec', curve: 'secp256k1', order: SECP256K1_ORDER },
  'p-256': { privateBytes: 32, publicBytes: 33, algorithmId: Buffer.concat([EC_PUBLIC_KEY, oid('06082a8648ce3d030107')]), kind: 'ec', curve: 'prime256v1', order: P256_ORDER },
};

export function privateKeyLength(alg: KeyAlgorithm): number {
  return ENCODINGS[alg].privateBytes;
}

export function publicKeyLength(alg: KeyAlgorithm): number {
  return ENCODINGS[alg].publicBytes;
}

function checkLength(alg: KeyAlgorithm, what: 'private' | 'public', bytes: Uint8Array): void {
  const want = what === 'private' ? ENCODINGS[alg].privateBytes : ENCODINGS[alg].publicBytes;
  if (bytes.length !== want) {
    throw new CryptoError('BAD_KEY_LENGTH', `${alg} ${what} key must be ${want} bytes, got ${bytes.length}`);
  }
}

/**
 * Checks that a KeyObject is a `kind` key of algorithm `alg` (for ECDSA, on the
 * right curve). A key of another algorithm must never be labelled with this
 * suite: it would sign, but not what the suite id promises.
 */
export function assertKeyObject(alg: KeyAlgorithm, key: KeyObject, kind: 'private' | 'public'): void {
  const enc = ENCODINGS[alg];
  const type = key.asymmetricKeyType ?? key.type;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const ok = key.type === kind && (enc.kind === 'ec' ? type === 'ec' && curve === enc.curve : type === alg);
  if (!ok) {
    const got = `${key.type} ${type}${curve ? ` (${curve})` : ''} key`;
    throw new CryptoError('BAD_KEY_ENCODING', `expected a ${kind} ${alg} key, got a ${got}`);
  }
}

/** True when a 32-byte ECDSA scalar lies in [1, n-1]. */
function scalarInRange(bytes: Uint8Array, order: bigint): boolean {
  const d = BigInt('0x' + Buffer.from(bytes).toString('hex'));
  return d > 0n && d < order;
}

/** Imports a private key from its raw stored form. */
export function importPrivateKeyBytes(alg: KeyAlgorithm, bytes: Uint8Array): KeyObject {
  checkLength(alg, 'private', bytes);
  const enc = ENCODINGS[alg];
  let inner: Buffer;
  if (enc.kind === 'seed') inner = tlv(TAG_CONTEXT_0_PRIMITIVE, bytes);
  else if (enc.kind === 'eddsa') inner = octets(bytes);
  else {
    if (!scalarInRange(bytes, enc.order!)) throw new CryptoError('BAD_KEY_ENCODING', `${alg} private scalar is out of range`);
    inner = seq(INTEGER_1, octets(bytes));
  }
  const der = seq(INTEGER_0, seq(enc.algorithmId), octets(inner));
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new CryptoError('BAD_KEY_ENCODING', `${alg} private key was rejected by the crypto library`, { cause: err });
  } finally {
    der.fill(0);
    inner.fill(0);
  }
}

/** Exports a private KeyObject to its raw stored form. The caller should zero the result after use. */
export function exportPrivateKeyBytes(alg: KeyAlgorithm, key: KeyObject): Buffer {
  const enc = ENCODINGS[alg];
  const der = key.export({ format: 'der', type: 'pkcs8' });
  try {
    const field = pkcs8PrivateKeyField(der);
    let out: Buffer | undefined;
    if (enc.kind === 'seed') {
      const node = readTlv(field, 0);
      if (node.tag === TAG_CONTEXT_0_PRIMITIVE) out = node.value;
      else if (node.tag === TAG_SEQUENCE) {
        const first = children(node.value)[0];
        if (first?.tag === TAG_OCTET_STRING) out = first.value;
      }
      if (!out) throw new CryptoError('BAD_KEY_ENCODING', `${alg} private key has no seed (expanded-only keys cannot be stored)`);
    } else if (enc.kind === 'eddsa') {
      out = readTlv(field, 0).value;
    } else {
      const d = children(readTlv(field, 0).value)[1];
      if (d?.tag !== TAG_OCTET_STRING) throw new CryptoError('BAD_KEY_ENCODING', `malformed ${alg} private key`);
      out = Buffer.alloc(32);
      d.value.copy(out, 32 - d.value.length);
    }
    const copy = Buffer.from(out);
    checkLength(alg, 'private', copy);
    return copy;
  } finally {
    der.fill(0);
  }
}

/** Imports a raw public key. */
export function importPublicKeyBytes(alg: KeyAlgorithm, bytes: Uint8Array): KeyObject {
  checkLength(alg, 'public', bytes);
  const enc = ENCODINGS[alg];
  if (enc.kind === 'ec' && bytes[0] !== 0x02 && bytes[0] !== 0x03) {
    throw new CryptoError('BAD_KEY_ENCODING', `${alg} public key must be a compressed SEC1 point (02/03 prefix)`);
  }
  try {
    return createPublicKey({ key: seq(seq(enc.algorithmId), bitString(bytes)), format: 'der', type: 'spki' });
  } catch (err) {
    throw new CryptoError('BAD_KEY_ENCODING', `${alg} public key is not a valid point or encoding`, { cause: err });
  }
}

/** The raw public key of a public or private KeyObject. */
export function exportPublicKeyBytes(alg: KeyAlgorithm, key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const spki = pub.export({ format: 'der', type: 'spki' });
  const parts = children(readTlv(spki, 0).value);
  const bits = parts[1]?.value;
  if (!bits || bits[0] !== 0) throw new CryptoError('BAD_KEY_ENCODING', `malformed ${alg} public key`);
  const raw = Buffer.from(bits.subarray(1));
  const enc = ENCODINGS[alg];
  if (enc.kind === 'ec' && raw[0] === 0x04) {
    return ECDH.convertKey(raw, enc.curve!, undefined, undefined, 'compressed') as Buffer;
  }
  return raw;
}
