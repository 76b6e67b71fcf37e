// The EncryptedFsV1 key file (`<role>.key`), format version 1: a fixed header
// (magic, version, role, suite, validator id, KDF parameters, nonce, passphrase
// check, public key) bound as associated data to the ChaCha20-Poly1305 sealed
// private key, and a SHA3-256 checksum of everything before it. This module
// only encodes, parses and seals/unseals bytes; policies live in scan.ts.
// The byte layout is specified in docs/keystore.md.

import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { KeystoreError } from './keystore-error.ts';
import { CHECK_BYTES, MAX_ITERATIONS, SALT_BYTES, splitMaster } from './kdf.ts';
import { ROLE_IDS, roleById, suiteOfRole, type KeyRole } from './roles.ts';

export const MAGIC = Buffer.from('QBINDKEY', 'ascii');
export const FORMAT_VERSION = 1;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const CHECKSUM_BYTES = 32;

const OFF_VERSION = 8;
const OFF_ROLE = 10;
const OFF_SUITE = 11;
const OFF_VALIDATOR = 13;
const OFF_PROTECTION = 21;
const OFF_ITERATIONS = 22;
const OFF_SALT = 26;
const OFF_NONCE = OFF_SALT + SALT_BYTES; // 58
const OFF_CHECK = OFF_NONCE + NONCE_BYTES; // 70
const OFF_PUBLIC_LEN = OFF_CHECK + CHECK_BYTES; // 86
const OFF_PUBLIC = OFF_PUBLIC_LEN + 2; // 88
/** Largest key file this version writes is under 2 KiB; anything far larger is not one. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export type Protection = 'plaintext' | 'pbkdf2-sha256-chacha20-poly1305';
const PROTECTION_IDS: Record<Protection, number> = { plaintext: 0, 'pbkdf2-sha256-chacha20-poly1305': 1 };

export interface KeyFileHeader {
  version: number;
  role: KeyRole;
  suiteId: number;
  validatorId: bigint;
  protection: Protection;
  iterations: number;
  salt: Buffer;
  nonce: Buffer;
  check: Buffer;
  publicKey: Buffer;
}

export interface ParsedKeyFile extends KeyFileHeader {
  /** Header bytes bound as associated data. */
  aad: Buffer;
  /** Sealed (or, plaintext files, clear) private key. */
  sealed: Buffer;
  tag: Buffer;
}

export interface SealInput {
  role: KeyRole;
  validatorId: bigint;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  /** null writes a plaintext (devnet-only) file. */
  encryption: { master: Uint8Array; iterations: number; salt: Uint8Array; nonce: Uint8Array } | null;
}

function sizesOf(role: KeyRole): { publicBytes: number; privateBytes: number; suiteId: number } {
  const s = suiteOfRole(role).suite;
  return { publicBytes: s.publicKeyBytes, privateBytes: s.privateKeyBytes, suiteId: s.id };
}

/** Size in bytes of a v1 key file of a role. */
export function keyFileLength(role: KeyRole): number {
  const { publicBytes, privateBytes } = sizesOf(role);
  return OFF_PUBLIC + publicBytes + 2 + privateBytes + TAG_BYTES + CHECKSUM_BYTES;
}

function sha3(data: Uint8Array): Buffer {
  return createHash('sha3-256').update(data).digest();
}

/** Encodes and (unless plaintext) encrypts a key file. */
export function sealKeyFile(input: SealInput): Buffer {
  const { publicBytes, privateBytes, suiteId } = sizesOf(input.role);
  if (input.publicKey.length !== publicBytes || input.privateKey.length !== privateBytes) {
    throw new KeystoreError('KEY_FILE_CORRUPT', `${input.role} key has the wrong size for suite ${suiteId}`);
  }
  if (input.validatorId < 0n || input.validatorId >= 1n << 64n) throw new KeystoreError('BAD_VALIDATOR_ID', `validator id ${input.validatorId} is not an unsigned 64-bit integer`);
  const enc = input.encryption;
  const aad = Buffer.alloc(OFF_PUBLIC + publicBytes + 2);
  MAGIC.copy(aad, 0);
  aad.writeUInt16BE(FORMAT_VERSION, OFF_VERSION);
  aad.writeUInt8(ROLE_IDS[input.role], OFF_ROLE);
  aad.writeUInt16BE(suiteId, OFF_SUITE);
  aad.writeBigUInt64BE(input.validatorId, OFF_VALIDATOR);
  aad.writeUInt8(PROTECTION_IDS[enc ? 'pbkdf2-sha256-chacha20-poly1305' : 'plaintext'], OFF_PROTECTION);
  aad.writeUInt16BE(publicBytes, OFF_PUBLIC_LEN);
  Buffer.from(input.publicKey).copy(aad, OFF_PUBLIC);
  aad.writeUInt16BE(privateBytes, OFF_PUBLIC + publicBytes);

  let sealed: Buffer;
  let tag: Buffer;
  if (enc) {
    if (enc.salt.length !== SALT_BYTES || enc.nonce.length !== NONCE_BYTES) throw new KeystoreError('KEY_FILE_CORRUPT', 'salt must be 32 bytes and nonce 12 bytes');
    if (!Number.isSafeInteger(enc.iterations) || enc.iterations < 1 || enc.iterations > MAX_ITERATIONS) throw new KeystoreError('BAD_ITERATIONS', `bad iteration count ${enc.iterations}`);
    aad.writeUInt32BE(enc.iterations, OFF_ITERATIONS);
    Buffer.from(enc.salt).copy(aad, OFF_SALT);
    Buffer.from(enc.nonce).copy(aad, OFF_NONCE);
    const keys = splitMaster(enc.master);
    try {
      keys.check.copy(aad, OFF_CHECK);
      const cipher = createCipheriv('chacha20-poly1305', keys.key, enc.nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad, { plaintextLength: privateBytes });
      sealed = Buffer.concat([cipher.update(input.privateKey), cipher.final()]);
      tag = cipher.getAuthTag();
    } finally {
      keys.key.fill(0);
    }
  } else {
    sealed = Buffer.from(input.privateKey);
    tag = Buffer.alloc(TAG_BYTES);
  }
  const body = Buffer.concat([aad, sealed, tag]);
  sealed.fill(0);
  const out = Buffer.concat([body, sha3(body)]);
  body.fill(0);
  return out;
}

function truncated(name: string, got: number, want: number): KeystoreError {
  return new KeystoreError('KEY_FILE_TRUNCATED', `${name} is truncated: ${got} bytes, a version ${FORMAT_VERSION} key file of this kind is ${want} bytes`);
}

function corrupt(name: string, what: string): KeystoreError {
  return new KeystoreError('KEY_FILE_CORRUPT', `${name} is corrupt: ${what}`);
}

/**
 * Parses a key file's bytes. Checks, in order: magic, version, length,
 * checksum (any changed byte), then every header field. `name` labels errors.
 */
export function parseKeyFile(bytes: Uint8Array, name: string): ParsedKeyFile {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < MAGIC.length) {
    if (b.length > 0 && MAGIC.subarray(0, b.length).equals(b)) throw truncated(name, b.length, OFF_PUBLIC);
    throw new KeystoreError('KEY_FILE_NOT_KEYSTORE', `${name} is not a qbind key file (${b.length === 0 ? 'it is empty' : 'no QBINDKEY magic'})`);
  }
  if (!b.subarray(0, MAGIC.length).equals(MAGIC)) throw new KeystoreError('KEY_FILE_NOT_KEYSTORE', `${name} is not a qbind key file (no QBINDKEY magic at the start)`);
  if (b.length < OFF_VERSION + 2) throw truncated(name, b.length, OFF_PUBLIC);
  const version = b.readUInt16BE(OFF_VERSION);
  if (version !== FORMAT_VERSION) {
    throw new KeystoreError('KEY_FILE_UNSUPPORTED_VERSION', `${name} has key file format version ${version}; this qbind-keygen reads version ${FORMAT_VERSION} only`);
  }
  if (b.length < OFF_PUBLIC) throw truncated(name, b.length, OFF_PUBLIC);
  const checksumOk = b.length > CHECKSUM_BYTES && timingSafeEqual(sha3(b.subarray(0, b.length - CHECKSUM_BYTES)), b.subarray(b.length - CHECKSUM_BYTES));
  const role = roleById(b.readUInt8(OFF_ROLE));
  if (!role) throw checksumOk ? corrupt(name, `unknown key role byte ${b.readUInt8(OFF_ROLE)}`) : corrupt(name, 'checksum mismatch (the file was changed or damaged)');
  const want = keyFileLength(role);
  // Shorter than its role's size: truncated, when the public key length field
  // agrees with the role byte (otherwise a changed role byte is the likelier story).
  if (b.length < want && (checksumOk || b.readUInt16BE(OFF_PUBLIC_LEN) === sizesOf(role).publicBytes)) throw truncated(name, b.length, want);
  if (!checksumOk) throw corrupt(name, 'checksum mismatch (the file was changed or damaged)');
  if (b.length > want) throw corrupt(name, `${b.length - want} unexpected bytes after the ${role} key`);

  const { publicBytes, privateBytes, suiteId } = sizesOf(role);
  const fileSuite = b.readUInt16BE(OFF_SUITE);
  if (fileSuite !== suiteId) throw corrupt(name, `suite ${fileSuite} is not allowed for the ${role} role (expected ${suiteId})`);
  const protectionId = b.readUInt8(OFF_PROTECTION);
  const protection = (Object.keys(PROTECTION_IDS) as Protection[]).find((p) => PROTECTION_IDS[p] === protectionId);
  if (!protection) throw corrupt(name, `unknown protection byte ${protectionId}`);
  if (b.readUInt16BE(OFF_PUBLIC_LEN) !== publicBytes) throw corrupt(name, `public key length field ${b.readUInt16BE(OFF_PUBLIC_LEN)}, expected ${publicBytes}`);
  if (b.readUInt16BE(OFF_PUBLIC + publicBytes) !== privateBytes) throw corrupt(name, `private key length field ${b.readUInt16BE(OFF_PUBLIC + publicBytes)}, expected ${privateBytes}`);
  const iterations = b.readUInt32BE(OFF_ITERATIONS);
  const salt = Buffer.from(b.subarray(OFF_SALT, OFF_SALT + SALT_BYTES));
  const nonce = Buffer.from(b.subarray(OFF_NONCE, OFF_NONCE + NONCE_BYTES));
  const check = Buffer.from(b.subarray(OFF_CHECK, OFF_CHECK + CHECK_BYTES));
  const aadEnd = OFF_PUBLIC + publicBytes + 2;
  const tag = Buffer.from(b.subarray(aadEnd + privateBytes, aadEnd + privateBytes + TAG_BYTES));
  if (protection === 'plaintext') {
    const zero = (x: Buffer): boolean => x.every((v) => v === 0);
    if (iterations !== 0 || !zero(salt) || !zero(nonce) || !zero(check) || !zero(tag)) throw corrupt(name, 'plaintext key file has non-zero KDF or cipher fields');
  } else if (iterations < 1 || iterations > MAX_ITERATIONS) {
    throw corrupt(name, `PBKDF2 iteration count ${iterations} is outside 1..${MAX_ITERATIONS}`);
  }
  return {
    version,
    role,
    suiteId,
    validatorId: b.readBigUInt64BE(OFF_VALIDATOR),
    protection,
    iterations,
    salt,
    nonce,
    check,
    publicKey: Buffer.from(b.subarray(OFF_PUBLIC, OFF_PUBLIC + publicBytes)),
    aad: Buffer.from(b.subarray(0, aadEnd)),
    sealed: Buffer.from(b.subarray(aadEnd, aadEnd + privateBytes)),
    tag,
  };
}

/**
 * The private key bytes of a parsed file (caller zeroes them). `master` is the
 * PBKDF2 output for the file's salt and iterations, or null for plaintext files.
 */
export function unsealKeyFile(file: ParsedKeyFile, master: Uint8Array | null, name: string): Buffer {
  if (file.protection === 'plaintext') return Buffer.from(file.sealed);
  if (!master) throw new KeystoreError('PASSPHRASE_REQUIRED', `${name} is encrypted; a passphrase is needed to open it`);
  const keys = splitMaster(master);
  try {
    if (!timingSafeEqual(keys.check, file.check)) {
      throw new KeystoreError('WRONG_PASSPHRASE', `wrong passphrase for ${name}`);
    }
    const decipher = createDecipheriv('chacha20-poly1305', keys.key, file.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(file.aad, { plaintextLength: file.sealed.length });
    decipher.setAuthTag(file.tag);
    const out = decipher.update(file.sealed);
    try {
      decipher.final();
    } catch (err) {
      out.fill(0);
      throw new KeystoreError('KEY_FILE_TAMPERED', `${name} failed authentication although the passphrase is right: its header or sealed key was modified and its checksum recomputed`, { cause: err });
    }
    return out;
  } finally {
    keys.key.fill(0);
    keys.check.fill(0);
  }
}
