// The remote signer wire format (docs/remote-signer-protocol.md): the
// RemoteSignRequest / RemoteSignResponse of design doc §4.4 as versioned binary
// messages, each carried in one KEMTLS record. A request id lets a client
// pipeline; responses may come back in any order. Decoding is strict: a wrong
// version, unknown type, bad length or trailing byte is a WireError.

import { MESSAGE_KINDS, type MessageKind } from '../preimage/layouts.ts';
import type { RemoteSignError, RemoteSignRequest, RemoteSignResponse } from '../signer/remote-protocol.ts';
import { SIGN_ERROR_CODES, type SignErrorCode } from '../signer/sign-error.ts';
import { WireError } from './remote-error.ts';

export const WIRE_VERSION = 1;
export const MSG_SIGN_REQUEST = 1;
export const MSG_SIGN_RESPONSE = 2;
/** Preimages are ~70-120 bytes; anything near this is not a preimage. */
export const MAX_PREIMAGE_BYTES = 4096;
export const MAX_SIGNATURE_BYTES = 8192;
export const MAX_ERROR_MESSAGE_BYTES = 1024;

export interface WireSignRequest extends RemoteSignRequest {
  requestId: bigint;
}

export interface WireSignResponse {
  requestId: bigint;
  response: RemoteSignResponse;
}

const KIND_CODE: Record<MessageKind, number> = { proposal: 1, vote: 2, timeout: 3, batch: 4, 'batch-ack': 5 };

class Reader {
  off = 0;
  readonly buf: Buffer;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.off + n > this.buf.length) throw new WireError(`message truncated reading ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = new Uint8Array(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return v;
  }
  end(): void {
    if (this.off !== this.buf.length) throw new WireError(`${this.buf.length - this.off} trailing bytes after message`);
  }
}

function header(r: Reader, type: number): bigint {
  const version = r.u8('version');
  if (version !== WIRE_VERSION) throw new WireError(`unsupported wire version ${version} (this signer speaks ${WIRE_VERSION})`);
  const t = r.u8('message type');
  if (t !== type) throw new WireError(`unexpected message type ${t} (expected ${type})`);
  return r.u64('request id');
}

export function encodeSignRequest(req: WireSignRequest): Buffer {
  if (req.preimage.length > MAX_PREIMAGE_BYTES) throw new WireError(`preimage of ${req.preimage.length} bytes exceeds ${MAX_PREIMAGE_BYTES}`);
  const out = Buffer.alloc(1 + 1 + 8 + 8 + 2 + 1 + 1 + 8 + 4 + req.preimage.length);
  let o = out.writeUInt8(WIRE_VERSION, 0);
  o = out.writeUInt8(MSG_SIGN_REQUEST, o);
  o = out.writeBigUInt64BE(req.requestId, o);
  o = out.writeBigUInt64BE(req.validatorId, o);
  o = out.writeUInt16BE(req.suiteId, o);
  o = out.writeUInt8(KIND_CODE[req.kind], o);
  o = out.writeUInt8(req.view === null ? 0 : 1, o);
  o = out.writeBigUInt64BE(req.view ?? 0n, o);
  o = out.writeUInt32BE(req.preimage.length, o);
  out.set(req.preimage, o);
  return out;
}

export function decodeSignRequest(bytes: Uint8Array): WireSignRequest {
  const r = new Reader(bytes);
  const requestId = header(r, MSG_SIGN_REQUEST);
  const validatorId = r.u64('validator id');
  const suiteId = r.u16('suite id');
  const kindCode = r.u8('kind');
  const kind = MESSAGE_KINDS.find((k) => KIND_CODE[k] === kindCode);
  if (!kind) throw new WireError(`unknown message kind code ${kindCode}`);
  const hasView = r.u8('view flag');
  if (hasView > 1) throw new WireError(`bad view flag ${hasView}`);
  const viewValue = r.u64('view');
  if (!hasView && viewValue !== 0n) throw new WireError('view must be zero when absent');
  const len = r.u32('preimage length');
  if (len > MAX_PREIMAGE_BYTES) throw new WireError(`preimage length ${len} exceeds ${MAX_PREIMAGE_BYTES}`);
  const preimage = r.bytes(len, 'preimage');
  r.end();
  return { requestId, validatorId, suiteId, kind, view: hasView ? viewValue : null, preimage };
}

export function encodeSignResponse(msg: WireSignResponse): Buffer {
  const { requestId, response } = msg;
  const head = Buffer.alloc(10);
  head.writeUInt8(WIRE_VERSION, 0);
  head.writeUInt8(MSG_SIGN_RESPONSE, 1);
  head.writeBigUInt64BE(requestId, 2);
  if (response.error === null) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(response.signature.length);
    return Buffer.concat([head, Buffer.from([0]), len, response.signature]);
  }
  const code = SIGN_ERROR_CODES.indexOf(response.error.code) + 1;
  // Status 0 means "signature follows": an unknown code must never encode as success.
  if (code === 0) throw new WireError(`unknown sign error code '${String(response.error.code)}'`);
  const text = Buffer.from(response.error.message, 'utf8').subarray(0, MAX_ERROR_MESSAGE_BYTES);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(text.length);
  return Buffer.concat([head, Buffer.from([code]), len, text]);
}

export function decodeSignResponse(bytes: Uint8Array): WireSignResponse {
  const r = new Reader(bytes);
  const requestId = header(r, MSG_SIGN_RESPONSE);
  const status = r.u8('status');
  if (status === 0) {
    const len = r.u32('signature length');
    if (len === 0 || len > MAX_SIGNATURE_BYTES) throw new WireError(`bad signature length ${len}`);
    const signature = r.bytes(len, 'signature');
    r.end();
    return { requestId, response: { signature, error: null } };
  }
  const code: SignErrorCode | undefined = SIGN_ERROR_CODES[status - 1];
  if (!code) throw new WireError(`unknown error status ${status}`);
  const len = r.u16('error message length');
  if (len > MAX_ERROR_MESSAGE_BYTES) throw new WireError(`error message length ${len} exceeds ${MAX_ERROR_MESSAGE_BYTES}`);
  const message = Buffer.from(r.bytes(len, 'error message')).toString('utf8');
  r.end();
  const error: RemoteSignError = { code, message };
  return { requestId, response: { signature: null, error } };
}

/** The request id of a frame that failed to decode, when its header is readable (to answer it). */
export function peekRequestId(bytes: Uint8Array): bigint | null {
  return bytes.length >= 10 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readBigUInt64BE(2) : null;
}
