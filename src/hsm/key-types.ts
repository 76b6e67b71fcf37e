// How each signature suite lives in a PKCS#11 token: key type and curve or
// parameter set, the templates for generating and importing a key pair
// (private half sensitive and never extractable), the signing mechanism, and
// decoding of the public key objects into the raw encodings of src/crypto
// (ML-DSA pk, Ed25519 point, compressed SEC1 point). docs/hsm.md has tables.

import { ECDH } from 'node:crypto';
import { children, octets, pkcs8PrivateKeyField, readTlv, TAG_OCTET_STRING } from '../crypto/der.ts';
import { importPrivateKeyBytes } from '../crypto/key-encoding.ts';
import { suiteByName, type SignatureSuite, type SignatureSuiteName } from '../crypto/suites.ts';
import { HsmError } from './hsm-error.ts';
import type { Attribute, Mechanism } from './pkcs11-api.ts';
import {
  CKA_CLASS, CKA_DERIVE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_PARAMETER_SET, CKA_PRIVATE,
  CKA_SEED, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_VALUE, CKA_VERIFY, CKK_EC, CKK_EC_EDWARDS, CKK_ML_DSA, CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_EDDSA, CKM_ML_DSA, CKM_ML_DSA_KEY_PAIR_GEN, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
  CKP_ML_DSA_44, CKP_ML_DSA_65, CKP_ML_DSA_87,
} from './pkcs11-constants.ts';

/** Key types a token key can have for us; every one is a signature suite. */
export type HsmKeyType = SignatureSuiteName;
export const HSM_KEY_TYPES: readonly HsmKeyType[] = ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87', 'ed25519', 'secp256k1', 'p-256'];

// DER of the curve identifiers used in CKA_EC_PARAMS.
const OID_SECP256K1 = Buffer.from('06052b8104000a', 'hex');
const OID_P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const OID_ED25519 = Buffer.from('06032b6570', 'hex');
/** PrintableString "edwards25519": what pkcs11-tool (OpenSC) writes for Ed25519. */
const NAME_ED25519 = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519', 'ascii')]);
/** The pre-RFC 8410 GnuPG OID some tokens still use for Ed25519. */
const OID_ED25519_GNU = Buffer.from('06092b06010401da470f01', 'hex');

const PARAMETER_SETS: Record<string, number> = { 'ml-dsa-44': CKP_ML_DSA_44, 'ml-dsa-65': CKP_ML_DSA_65, 'ml-dsa-87': CKP_ML_DSA_87 };

const ALIASES: Record<string, HsmKeyType> = {
  'ml-dsa-44': 'ml-dsa-44', mldsa44: 'ml-dsa-44', 'ml-dsa-65': 'ml-dsa-65', mldsa65: 'ml-dsa-65', 'ml-dsa-87': 'ml-dsa-87', mldsa87: 'ml-dsa-87',
  ed25519: 'ed25519', eddsa: 'ed25519', secp256k1: 'secp256k1', 'p-256': 'p-256', p256: 'p-256', prime256v1: 'p-256', secp256r1: 'p-256',
};

/** Parses an operator's key type name ("ML-DSA-44", "ed25519", "P-256"...). */
export function parseKeyType(text: string): HsmKeyType {
  const t = text.trim().toLowerCase().replace(/_/g, '-');
  const found = ALIASES[t] ?? ALIASES[t.replace(/-/g, '')];
  if (found) return found;
  if (t === 'ml-kem-768') {
    throw new HsmError('HSM_KEY_UNSUPPORTED', `key type '${text}' is a KEM key, not a signing key: the HSM signer and qbind-hsm handle signing keys only (${HSM_KEY_TYPES.join(', ')})`);
  }
  throw new HsmError('HSM_KEY_UNSUPPORTED', `unknown key type '${text}' (known: ${HSM_KEY_TYPES.join(', ')})`);
}

export function suiteOfKeyType(keyType: HsmKeyType): SignatureSuite {
  return suiteByName(keyType);
}

/** The CKA_KEY_TYPE of a key type. */
export function ckkOf(keyType: HsmKeyType): number {
  const family = suiteOfKeyType(keyType).family;
  return family === 'ml-dsa' ? CKK_ML_DSA : family === 'eddsa' ? CKK_EC_EDWARDS : CKK_EC;
}

function ecParamsOf(keyType: HsmKeyType): Buffer {
  if (keyType === 'secp256k1') return OID_SECP256K1;
  if (keyType === 'p-256') return OID_P256;
  return OID_ED25519;
}

/** The mechanism each key type signs with by default (standard PKCS#11 3.x). */
export function defaultSignMechanism(keyType: HsmKeyType): number {
  const family = suiteOfKeyType(keyType).family;
  return family === 'ml-dsa' ? CKM_ML_DSA : family === 'eddsa' ? CKM_EDDSA : CKM_ECDSA;
}

export function keyPairGenMechanism(keyType: HsmKeyType): number {
  const family = suiteOfKeyType(keyType).family;
  return family === 'ml-dsa' ? CKM_ML_DSA_KEY_PAIR_GEN : family === 'eddsa' ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
}

/**
 * The mechanism structure for C_SignInit. Every mechanism here is used
 * without a parameter: ML-DSA then signs in pure mode with an empty context
 * (hedge preferred), EdDSA as pure Ed25519, ECDSA over the data given.
 */
export function signMechanism(mechanism: number): Mechanism {
  return { mechanism };
}

/**
 * What is handed to C_Sign for a message: the message itself, except raw
 * CKM_ECDSA, which signs a digest we compute (SHA-256, as src/crypto does).
 */
export function signInputFor(keyType: HsmKeyType, mechanism: number, message: Uint8Array, sha256: (m: Uint8Array) => Buffer): Buffer {
  if (suiteOfKeyType(keyType).family === 'ecdsa' && mechanism === CKM_ECDSA) return sha256(message);
  return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

export interface KeyPairTemplates {
  mechanism: Mechanism;
  publicTemplate: Attribute[];
  privateTemplate: Attribute[];
}

function typeAttributes(keyType: HsmKeyType, half: 'public' | 'private'): Attribute[] {
  if (suiteOfKeyType(keyType).family === 'ml-dsa') {
    // PKCS#11 3.2 §ML-DSA: the parameter set goes in the public template only on generation.
    return half === 'public' ? [{ type: CKA_PARAMETER_SET, value: PARAMETER_SETS[keyType]! }] : [];
  }
  return half === 'public' ? [{ type: CKA_EC_PARAMS, value: ecParamsOf(keyType) }] : [];
}

/** C_GenerateKeyPair templates: token objects, private half sensitive and never extractable. */
export function generateTemplates(keyType: HsmKeyType, label: string, id: Buffer): KeyPairTemplates {
  const keyTypeAttr = { type: CKA_KEY_TYPE, value: ckkOf(keyType) };
  return {
    mechanism: { mechanism: keyPairGenMechanism(keyType) },
    publicTemplate: [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      keyTypeAttr,
      { type: CKA_TOKEN, value: true },
      { type: CKA_PRIVATE, value: false },
      { type: CKA_LABEL, value: label },
      { type: CKA_ID, value: id },
      { type: CKA_VERIFY, value: true },
      ...typeAttributes(keyType, 'public'),
    ],
    privateTemplate: [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
      keyTypeAttr,
      { type: CKA_TOKEN, value: true },
      { type: CKA_PRIVATE, value: true },
      { type: CKA_LABEL, value: label },
      { type: CKA_ID, value: id },
      { type: CKA_SIGN, value: true },
      { type: CKA_DERIVE, value: false },
      { type: CKA_SENSITIVE, value: true },
      { type: CKA_EXTRACTABLE, value: false },
    ],
  };
}

/** The key material of an imported key, in the forms the token object wants. */
interface ImportMaterial {
  privateAttributes: Attribute[];
  publicAttributes: Attribute[];
  /** Raw public key as src/crypto encodes it. */
  publicKey: Buffer;
  /** Buffers holding secrets, zeroed after C_CreateObject. */
  secrets: Buffer[];
}

/** ML-DSA expanded private key (FIPS 204 sk) from node's PKCS#8 "seed and key" form. */
function mlDsaExpandedKey(keyType: HsmKeyType, seed: Uint8Array): Buffer {
  const key = importPrivateKeyBytes(keyType, seed);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  try {
    const node = readTlv(pkcs8PrivateKeyField(der), 0);
    const parts = children(node.value);
    const expanded = parts[1];
    if (parts.length !== 2 || expanded?.tag !== TAG_OCTET_STRING) {
      throw new HsmError('HSM_KEY_UNSUPPORTED', `${keyType}: the crypto library did not give the expanded private key needed for import`);
    }
    return Buffer.from(expanded.value);
  } finally {
    der.fill(0);
  }
}

function importMaterial(keyType: HsmKeyType, privateBytes: Uint8Array, publicKey: Buffer): ImportMaterial {
  const suite = suiteOfKeyType(keyType);
  const secret = Buffer.from(privateBytes);
  if (suite.family === 'ml-dsa') {
    const expanded = mlDsaExpandedKey(keyType, privateBytes);
    return {
      // PKCS#11 3.2 recommends giving both the seed and the expanded key.
      privateAttributes: [{ type: CKA_PARAMETER_SET, value: PARAMETER_SETS[keyType]! }, { type: CKA_SEED, value: secret }, { type: CKA_VALUE, value: expanded }],
      publicAttributes: [{ type: CKA_PARAMETER_SET, value: PARAMETER_SETS[keyType]! }, { type: CKA_VALUE, value: publicKey }],
      publicKey,
      secrets: [secret, expanded],
    };
  }
  const params = ecParamsOf(keyType);
  const point = suite.family === 'eddsa' ? publicKey : (ECDH.convertKey(publicKey, keyType === 'p-256' ? 'prime256v1' : 'secp256k1', undefined, undefined, 'uncompressed') as Buffer);
  return {
    privateAttributes: [{ type: CKA_EC_PARAMS, value: params }, { type: CKA_VALUE, value: secret }],
    publicAttributes: [{ type: CKA_EC_PARAMS, value: params }, { type: CKA_EC_POINT, value: octets(point) }],
    publicKey,
    secrets: [secret],
  };
}

export interface ImportTemplates {
  privateTemplate: Attribute[];
  publicTemplate: Attribute[];
  /** Zeroes the secret buffers referenced by privateTemplate. */
  wipe(): void;
}

/** C_CreateObject templates for importing a key (migration): sensitive, never extractable. */
export function importTemplates(keyType: HsmKeyType, label: string, id: Buffer, privateBytes: Uint8Array, publicKey: Buffer): ImportTemplates {
  const m = importMaterial(keyType, privateBytes, publicKey);
  const keyTypeAttr = { type: CKA_KEY_TYPE, value: ckkOf(keyType) };
  return {
    privateTemplate: [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
      keyTypeAttr,
      { type: CKA_TOKEN, value: true },
      { type: CKA_PRIVATE, value: true },
      { type: CKA_LABEL, value: label },
      { type: CKA_ID, value: id },
      { type: CKA_SIGN, value: true },
      { type: CKA_DERIVE, value: false },
      { type: CKA_SENSITIVE, value: true },
      { type: CKA_EXTRACTABLE, value: false },
      ...m.privateAttributes,
    ],
    publicTemplate: [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      keyTypeAttr,
      { type: CKA_TOKEN, value: true },
      { type: CKA_PRIVATE, value: false },
      { type: CKA_LABEL, value: label },
      { type: CKA_ID, value: id },
      { type: CKA_VERIFY, value: true },
      ...m.publicAttributes,
    ],
    wipe: () => {
      for (const s of m.secrets) s.fill(0);
    },
  };
}

/** Reads a CK_ULONG attribute value (8 bytes on LP64, 4 on Windows), little-endian host order. */
export function readUlong(value: Buffer): number {
  if (value.length === 8) return Number(value.readBigUInt64LE(0));
  if (value.length === 4) return value.readUInt32LE(0);
  throw new HsmError('HSM_KEY_UNSUPPORTED', `unexpected CK_ULONG attribute of ${value.length} bytes`);
}

/** The key type named by a key object's CKA_KEY_TYPE and its curve or parameter set, or null if we cannot use it. */
export function keyTypeFromAttributes(ckk: number, ecParams: Buffer | undefined, parameterSet: number | undefined): HsmKeyType | null {
  if (ckk === CKK_ML_DSA) {
    if (parameterSet === CKP_ML_DSA_44) return 'ml-dsa-44';
    if (parameterSet === CKP_ML_DSA_65) return 'ml-dsa-65';
    if (parameterSet === CKP_ML_DSA_87) return 'ml-dsa-87';
    return null;
  }
  if (!ecParams) return null;
  if (ckk === CKK_EC_EDWARDS) {
    return ecParams.equals(OID_ED25519) || ecParams.equals(NAME_ED25519) || ecParams.equals(OID_ED25519_GNU) ? 'ed25519' : null;
  }
  if (ckk === CKK_EC) {
    if (ecParams.equals(OID_SECP256K1)) return 'secp256k1';
    if (ecParams.equals(OID_P256)) return 'p-256';
  }
  return null;
}

/** CKA_EC_POINT may come DER-wrapped (an OCTET STRING, as the standard says) or raw; unwrap it. */
function unwrapEcPoint(point: Buffer, rawLength: number): Buffer {
  if (point.length === rawLength) return point;
  try {
    const node = readTlv(point, 0);
    if (node.tag === TAG_OCTET_STRING && node.end === point.length && node.value.length === rawLength) return Buffer.from(node.value);
  } catch {
    // fall through to the error below
  }
  throw new HsmError('HSM_KEY_UNSUPPORTED', `CKA_EC_POINT of ${point.length} bytes is neither a ${rawLength}-byte point nor a DER OCTET STRING holding one`);
}

/**
 * The raw public key (src/crypto encoding) from a public key object's
 * CKA_VALUE (ML-DSA) or CKA_EC_POINT (EdDSA, ECDSA).
 */
export function publicKeyFromObject(keyType: HsmKeyType, value: Buffer | undefined, ecPoint: Buffer | undefined): Buffer {
  const suite = suiteOfKeyType(keyType);
  let raw: Buffer;
  if (suite.family === 'ml-dsa') {
    if (!value) throw new HsmError('HSM_KEY_UNSUPPORTED', `${keyType} public key object has no CKA_VALUE`);
    raw = value;
  } else if (!ecPoint) {
    throw new HsmError('HSM_KEY_UNSUPPORTED', `${keyType} public key object has no CKA_EC_POINT`);
  } else if (suite.family === 'eddsa') {
    raw = unwrapEcPoint(ecPoint, 32);
  } else {
    const point = unwrapEcPoint(ecPoint, 65);
    if (point[0] !== 0x04) throw new HsmError('HSM_KEY_UNSUPPORTED', `${keyType} CKA_EC_POINT is not an uncompressed point`);
    raw = ECDH.convertKey(point, keyType === 'p-256' ? 'prime256v1' : 'secp256k1', undefined, undefined, 'compressed') as Buffer;
  }
  if (raw.length !== suite.publicKeyBytes) {
    throw new HsmError('HSM_KEY_UNSUPPORTED', `${keyType} public key on the token is ${raw.length} bytes, expected ${suite.publicKeyBytes}`);
  }
  return raw;
}
