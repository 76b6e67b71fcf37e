// KEMTLS v1 wire constants and the small fixed layouts: the client preamble
// (magic + version), frame headers, and plaintext handshake alerts. Every
// multi-byte integer is big-endian. See docs/kemtls.md, "Message layouts".

import { ML_KEM_768 } from '../crypto/suites.ts';
import { KemtlsError } from './kemtls-error.ts';

/** First four bytes a client sends: 0x89 'Q' 'K' 'T'. 0x89 is not ASCII, so never 'GET ', 'HEAD', 'POST' or a TLS record. */
export const KEMTLS_MAGIC: Buffer = Buffer.from([0x89, 0x51, 0x4b, 0x54]);
export const KEMTLS_VERSION = 1;
export const PREAMBLE_BYTES = 6;
export const FRAME_HEADER_BYTES = 5;

export const FRAME_CLIENT_HELLO = 0x01;
export const FRAME_SERVER_HELLO = 0x02;
export const FRAME_CLIENT_FINISHED = 0x03;
export const FRAME_ALERT = 0x15;
export const FRAME_APPLICATION_DATA = 0x17;
export const FRAME_CLOSE_NOTIFY = 0x18;

export const RANDOM_BYTES = 32;
export const AEAD_TAG_BYTES = 16;
export const MAC_BYTES = 32;
export const KEM_PUBLIC_KEY_BYTES = ML_KEM_768.publicKeyBytes; // 1184
export const KEM_CIPHERTEXT_BYTES = ML_KEM_768.ciphertextBytes; // 1088

/** ClientHello body: client_random || ct_S || pk_e || enc_identity. */
export const CLIENT_HELLO_BODY_BYTES = RANDOM_BYTES + KEM_CIPHERTEXT_BYTES + KEM_PUBLIC_KEY_BYTES + KEM_PUBLIC_KEY_BYTES + AEAD_TAG_BYTES; // 3504
/** ServerHello body: server_random || ct_e || enc_ct_C || server_finished. */
export const SERVER_HELLO_BODY_BYTES = RANDOM_BYTES + KEM_CIPHERTEXT_BYTES + KEM_CIPHERTEXT_BYTES + AEAD_TAG_BYTES + MAC_BYTES; // 2256
export const CLIENT_FINISHED_BODY_BYTES = MAC_BYTES;
export const ALERT_BODY_BYTES = 3;

/** Alert codes sent in plaintext by the server before its ServerHello. */
export const ALERT_VERSION_MISMATCH = 1;
export const ALERT_HANDSHAKE_FAILED = 2;
export const ALERT_SERVER_BUSY = 3;

export function encodePreamble(version = KEMTLS_VERSION): Buffer {
  const out = Buffer.alloc(PREAMBLE_BYTES);
  KEMTLS_MAGIC.copy(out, 0);
  out.writeUInt16BE(version, 4);
  return out;
}

/** True when the first bytes of a connection (any length >= 1) can be the start of a KEMTLS ClientHello. */
export function looksLikeKemtls(head: Uint8Array): boolean {
  const n = Math.min(head.length, KEMTLS_MAGIC.length);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (head[i] !== KEMTLS_MAGIC[i]) return false;
  return true;
}

/** Checks a 6-byte preamble; returns nothing or throws BAD_MAGIC / VERSION_MISMATCH. */
export function checkPreamble(preamble: Uint8Array): void {
  if (!looksLikeKemtls(preamble) || preamble.length < PREAMBLE_BYTES) {
    throw new KemtlsError('BAD_MAGIC', 'connection does not start with the KEMTLS magic bytes 89 51 4b 54');
  }
  const version = (preamble[4]! << 8) | preamble[5]!;
  if (version !== KEMTLS_VERSION) {
    throw new KemtlsError('VERSION_MISMATCH', `client speaks KEMTLS version ${version}, this server speaks version ${KEMTLS_VERSION}`);
  }
}

export function encodeFrameHeader(type: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  out[0] = type;
  out.writeUInt32BE(length, 1);
  return out;
}

/** A whole frame: header || body. */
export function encodeFrame(type: number, body: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(type, body.length), body]);
}

export function encodeAlert(code: number, version = KEMTLS_VERSION): Buffer {
  const body = Buffer.alloc(ALERT_BODY_BYTES);
  body[0] = code;
  body.writeUInt16BE(version, 1);
  return encodeFrame(FRAME_ALERT, body);
}

/** Turns a plaintext alert received during the handshake into the client's error. */
export function alertError(body: Uint8Array): KemtlsError {
  const code = body[0];
  const version = body.length >= 3 ? (body[1]! << 8) | body[2]! : 0;
  switch (code) {
    case ALERT_VERSION_MISMATCH:
      return new KemtlsError('VERSION_MISMATCH', `server speaks KEMTLS version ${version}, this client speaks version ${KEMTLS_VERSION}`);
    case ALERT_SERVER_BUSY:
      return new KemtlsError('SERVER_BUSY', 'server refused the connection: at its connection limit');
    case ALERT_HANDSHAKE_FAILED:
      return new KemtlsError('HANDSHAKE_REJECTED', 'server rejected the handshake (unknown client key, wrong server key, replay or timeout; the server log says which)');
    default:
      return new KemtlsError('HANDSHAKE_REJECTED', `server sent unknown alert ${code ?? 'none'}`);
  }
}
