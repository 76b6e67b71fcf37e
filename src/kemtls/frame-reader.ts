// Reassembles frames (type u8 || length u32 || body) from TCP chunks. The
// length is checked against the current limit as soon as the 5-byte header is
// complete, before any body byte is buffered for it, so a peer cannot make us
// allocate more than one limit's worth per connection.

import { KemtlsError } from './kemtls-error.ts';
import { FRAME_HEADER_BYTES } from './wire.ts';

export interface Frame {
  readonly type: number;
  /** header || body, exactly as received (hashed into the transcript). */
  readonly bytes: Buffer;
  readonly header: Buffer;
  readonly body: Buffer;
}

export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Largest body length accepted; may change between frames (handshake vs records). */
  maxBody: number;

  constructor(maxBody: number) {
    this.maxBody = maxBody;
  }

  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Up to `n` buffered bytes, without consuming them. */
  peek(n: number): Buffer {
    const k = Math.min(n, this.#buffered);
    if (k === 0) return Buffer.alloc(0);
    return this.#contiguous(k).subarray(0, k);
  }

  /** Exactly `n` raw bytes (the client preamble), or null until they have arrived. */
  readExact(n: number): Buffer | null {
    if (this.#buffered < n) return null;
    return this.#take(n);
  }

  /** The next complete frame, or null. Throws FRAME_TOO_LARGE on an oversized header. */
  next(): Frame | null {
    if (this.#buffered < FRAME_HEADER_BYTES) return null;
    const first = this.#contiguous(FRAME_HEADER_BYTES);
    const length = first.readUInt32BE(1);
    if (length > this.maxBody) {
      throw new KemtlsError('FRAME_TOO_LARGE', `frame of type 0x${first[0]!.toString(16).padStart(2, '0')} announces ${length} bytes, limit is ${this.maxBody}`);
    }
    const total = FRAME_HEADER_BYTES + length;
    if (this.#buffered < total) return null;
    const bytes = this.#take(total);
    return { type: bytes[0]!, bytes, header: bytes.subarray(0, FRAME_HEADER_BYTES), body: bytes.subarray(FRAME_HEADER_BYTES) };
  }

  /** Drops everything buffered (after a failure). */
  clear(): void {
    this.#chunks = [];
    this.#buffered = 0;
  }

  /** Makes the first `n` buffered bytes one chunk and returns it (n <= buffered). */
  #contiguous(n: number): Buffer {
    const head = this.#chunks[0]!;
    if (head.length >= n) return head;
    let count = 0;
    let size = 0;
    while (size < n) size += this.#chunks[count++]!.length;
    const merged = Buffer.concat(this.#chunks.slice(0, count), size);
    this.#chunks.splice(0, count, merged);
    return merged;
  }

  #take(n: number): Buffer {
    const head = this.#contiguous(n);
    const out = head.subarray(0, n);
    if (head.length === n) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#buffered -= n;
    return out;
  }
}
