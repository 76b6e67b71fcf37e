// Minimal DER reader and writer, only for wrapping raw keys into the PKCS#8 and
// SubjectPublicKeyInfo envelopes node:crypto imports, and for taking the seed or
// scalar back out of what it exports. No cryptography happens here.

import { CryptoError } from './crypto-error.ts';

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;
export const TAG_CONTEXT_0_PRIMITIVE = 0x80;

export function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else if (n < 0x100) len = [0x81, n];
  else if (n < 0x10000) len = [0x82, n >> 8, n & 0xff];
  else len = [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}

export function seq(...items: Uint8Array[]): Buffer {
  return tlv(TAG_SEQUENCE, Buffer.concat(items));
}

export function octets(content: Uint8Array): Buffer {
  return tlv(TAG_OCTET_STRING, content);
}

export function bitString(content: Uint8Array): Buffer {
  return tlv(TAG_BIT_STRING, Buffer.concat([Buffer.from([0]), content]));
}

/** An OID given as its full encoding (tag 06, length, value), as hex. */
export function oid(encodedHex: string): Buffer {
  return Buffer.from(encodedHex, 'hex');
}

export const INTEGER_0 = Buffer.from([TAG_INTEGER, 1, 0]);
export const INTEGER_1 = Buffer.from([TAG_INTEGER, 1, 1]);

export interface DerNode {
  tag: number;
  /** The value bytes (a view into the input). */
  value: Buffer;
  /** Offset just past this element in the input. */
  end: number;
}

/** Reads one TLV at `offset`; throws BAD_KEY_ENCODING on anything malformed. */
export function readTlv(buf: Buffer, offset: number): DerNode {
  const fail = (why: string): never => {
    throw new CryptoError('BAD_KEY_ENCODING', `malformed DER key encoding: ${why}`);
  };
  if (offset + 2 > buf.length) fail('truncated header');
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (count === 0 || count > 3 || pos + count > buf.length) fail('bad length');
    len = 0;
    for (let i = 0; i < count; i++) len = (len << 8) | buf[pos + i]!;
    pos += count;
  }
  if (pos + len > buf.length) fail('length beyond end');
  return { tag, value: buf.subarray(pos, pos + len), end: pos + len };
}

/** Reads all the elements inside a constructed value. */
export function children(value: Buffer): DerNode[] {
  const out: DerNode[] = [];
  let off = 0;
  while (off < value.length) {
    const node = readTlv(value, off);
    out.push(node);
    off = node.end;
  }
  return out;
}

/** The privateKey OCTET STRING content of a PKCS#8 PrivateKeyInfo. */
export function pkcs8PrivateKeyField(pkcs8: Buffer): Buffer {
  const outer = readTlv(pkcs8, 0);
  const parts = children(outer.value);
  const field = parts[2];
  if (outer.tag !== TAG_SEQUENCE || parts.length < 3 || field === undefined || field.tag !== TAG_OCTET_STRING) {
    throw new CryptoError('BAD_KEY_ENCODING', 'malformed PKCS#8 private key');
  }
  return field.value;
}
