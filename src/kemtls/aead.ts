// ChaCha20-Poly1305 (RFC 8439) through node:crypto: seal to ciphertext || tag,
// open back or return null when authentication fails. Keys are KeyObjects so
// that per-record calls do not re-import raw key bytes (the costly part).

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { AEAD_TAG_BYTES } from './wire.ts';

const ALG = 'chacha20-poly1305';
export const AEAD_NONCE_BYTES = 12;

export function aeadKey(raw: Uint8Array): KeyObject {
  return createSecretKey(raw);
}

/** ciphertext || tag of `plaintext`; `out` (if given) receives it at `offset` instead of a new buffer. */
export function aeadSeal(key: KeyObject, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out?: Buffer, offset = 0): Buffer {
  const cipher = createCipheriv(ALG, key, nonce, { authTagLength: AEAD_TAG_BYTES });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const ct = cipher.update(plaintext);
  cipher.final();
  const tag = cipher.getAuthTag();
  if (!out) return Buffer.concat([ct, tag], ct.length + AEAD_TAG_BYTES);
  ct.copy(out, offset);
  tag.copy(out, offset + ct.length);
  return out;
}

/** The plaintext, or null when `sealed` (ciphertext || tag) does not authenticate. */
export function aeadOpen(key: KeyObject, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < AEAD_TAG_BYTES) return null;
  const split = sealed.length - AEAD_TAG_BYTES;
  const decipher = createDecipheriv(ALG, key, nonce, { authTagLength: AEAD_TAG_BYTES });
  decipher.setAAD(aad, { plaintextLength: split });
  decipher.setAuthTag(sealed.subarray(split));
  const pt = decipher.update(sealed.subarray(0, split));
  try {
    decipher.final();
  } catch {
    pt.fill(0);
    return null;
  }
  return pt;
}
