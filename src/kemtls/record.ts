// Record protection after the handshake: one ChaCha20-Poly1305 key and IV per
// direction, nonce = IV xor the 64-bit record sequence number (as TLS 1.3),
// AAD = the 5-byte frame header. A tampered, reordered, replayed or dropped
// record fails authentication because the receiver's counter no longer
// matches the sender's.

import type { KeyObject } from 'node:crypto';
import { aeadKey, aeadOpen, aeadSeal } from './aead.ts';
import type { DirectionKeys } from './key-schedule.ts';
import { KemtlsError } from './kemtls-error.ts';
import { AEAD_TAG_BYTES, FRAME_HEADER_BYTES } from './wire.ts';

/** Records per direction before the connection must be replaced (no re-keying in v1). */
export const MAX_RECORDS = 2 ** 48;

/** Writes IV xor seq (64-bit big-endian, in the last 8 bytes) into `nonce` (node copies it into the cipher). */
function nonceFor(nonce: Buffer, iv: Buffer, seq: number): Buffer {
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
  nonce.writeUInt32BE(iv.readUInt32BE(0), 0);
  nonce.writeUInt32BE((iv.readUInt32BE(4) ^ hi) >>> 0, 4);
  nonce.writeUInt32BE((iv.readUInt32BE(8) ^ lo) >>> 0, 8);
  return nonce;
}

export class RecordSealer {
  readonly #key: KeyObject;
  readonly #iv: Buffer;
  readonly #nonce = Buffer.alloc(12);
  #seq = 0;

  constructor(keys: DirectionKeys) {
    this.#key = aeadKey(keys.key);
    this.#iv = Buffer.from(keys.iv);
  }

  get sequence(): number {
    return this.#seq;
  }

  /** The whole frame: type || length || ciphertext || tag. */
  seal(type: number, plaintext: Uint8Array): Buffer {
    if (this.#seq >= MAX_RECORDS) throw new KemtlsError('SEQUENCE_EXHAUSTED', `${MAX_RECORDS} records sent on this connection; open a new one`);
    const length = plaintext.length + AEAD_TAG_BYTES;
    const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    out[0] = type;
    out.writeUInt32BE(length, 1);
    aeadSeal(this.#key, nonceFor(this.#nonce, this.#iv, this.#seq), out.subarray(0, FRAME_HEADER_BYTES), plaintext, out, FRAME_HEADER_BYTES);
    this.#seq++;
    return out;
  }
}

export class RecordOpener {
  readonly #key: KeyObject;
  readonly #iv: Buffer;
  readonly #nonce = Buffer.alloc(12);
  #seq = 0;

  constructor(keys: DirectionKeys) {
    this.#key = aeadKey(keys.key);
    this.#iv = Buffer.from(keys.iv);
  }

  get sequence(): number {
    return this.#seq;
  }

  /** Plaintext of a record frame; throws BAD_RECORD when it does not authenticate at the expected position. */
  open(header: Buffer, sealed: Buffer): Buffer {
    if (this.#seq >= MAX_RECORDS) throw new KemtlsError('SEQUENCE_EXHAUSTED', `${MAX_RECORDS} records received on this connection`);
    const pt = aeadOpen(this.#key, nonceFor(this.#nonce, this.#iv, this.#seq), header, sealed);
    if (!pt) {
      throw new KemtlsError('BAD_RECORD', `record ${this.#seq} failed authentication (tampered, reordered, replayed or dropped)`);
    }
    this.#seq++;
    return pt;
  }
}
