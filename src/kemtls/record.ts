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

/** Key, IV and record counter of one direction; nonce = IV xor counter (64-bit big-endian, in the last 8 bytes). */
class DirectionState {
  readonly key: KeyObject;
  readonly #iv: Buffer;
  readonly #nonce = Buffer.alloc(12);
  seq = 0;

  constructor(keys: DirectionKeys) {
    this.key = aeadKey(keys.key);
    this.#iv = Buffer.from(keys.iv);
  }

  /** The nonce of the current record (node copies it into the cipher, so the buffer is reused). */
  nonce(): Buffer {
    const hi = Math.floor(this.seq / 0x1_0000_0000);
    const lo = this.seq >>> 0;
    this.#nonce.writeUInt32BE(this.#iv.readUInt32BE(0), 0);
    this.#nonce.writeUInt32BE((this.#iv.readUInt32BE(4) ^ hi) >>> 0, 4);
    this.#nonce.writeUInt32BE((this.#iv.readUInt32BE(8) ^ lo) >>> 0, 8);
    return this.#nonce;
  }
}

export class RecordSealer {
  readonly #state: DirectionState;

  constructor(keys: DirectionKeys) {
    this.#state = new DirectionState(keys);
  }

  get sequence(): number {
    return this.#state.seq;
  }

  /** The whole frame: type || length || ciphertext || tag. */
  seal(type: number, plaintext: Uint8Array): Buffer {
    const st = this.#state;
    if (st.seq >= MAX_RECORDS) throw new KemtlsError('SEQUENCE_EXHAUSTED', `${MAX_RECORDS} records sent on this connection; open a new one`);
    const length = plaintext.length + AEAD_TAG_BYTES;
    const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    out[0] = type;
    out.writeUInt32BE(length, 1);
    aeadSeal(st.key, st.nonce(), out.subarray(0, FRAME_HEADER_BYTES), plaintext, out, FRAME_HEADER_BYTES);
    st.seq++;
    return out;
  }
}

export class RecordOpener {
  readonly #state: DirectionState;

  constructor(keys: DirectionKeys) {
    this.#state = new DirectionState(keys);
  }

  get sequence(): number {
    return this.#state.seq;
  }

  /** Plaintext of a record frame; throws BAD_RECORD when it does not authenticate at the expected position. */
  open(header: Buffer, sealed: Buffer): Buffer {
    const st = this.#state;
    if (st.seq >= MAX_RECORDS) throw new KemtlsError('SEQUENCE_EXHAUSTED', `${MAX_RECORDS} records received on this connection`);
    const pt = aeadOpen(st.key, st.nonce(), header, sealed);
    if (!pt) {
      throw new KemtlsError('BAD_RECORD', `record ${st.seq} failed authentication (tampered, reordered, replayed or dropped)`);
    }
    st.seq++;
    return pt;
  }
}
