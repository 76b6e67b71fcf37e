// The plaintext of an application_data record: one or more messages, each
// u32 length || bytes. Messages sent in the same tick share a record (one
// AEAD call and one write instead of one per message); a record is never
// built larger than COALESCE_LIMIT unless a single message needs more.

import { KemtlsError } from './kemtls-error.ts';

export const MESSAGE_LENGTH_BYTES = 4;
/** Records built from several messages stay at or below this plaintext size, so any peer limit >= 16 KiB + 16 accepts them. */
export const COALESCE_LIMIT = 16 * 1024;

/** Groups queued messages into record plaintexts of at most max(limit, one message). */
export function packMessages(messages: readonly Uint8Array[], limit: number): Buffer[] {
  const records: Buffer[] = [];
  let i = 0;
  while (i < messages.length) {
    let size = 0;
    let j = i;
    do {
      size += MESSAGE_LENGTH_BYTES + messages[j]!.length;
      j++;
    } while (j < messages.length && size + MESSAGE_LENGTH_BYTES + messages[j]!.length <= limit);
    const out = Buffer.allocUnsafe(size);
    let o = 0;
    for (let k = i; k < j; k++) {
      const m = messages[k]!;
      out.writeUInt32BE(m.length, o);
      out.set(m, o + MESSAGE_LENGTH_BYTES);
      o += MESSAGE_LENGTH_BYTES + m.length;
    }
    records.push(out);
    i = j;
  }
  return records;
}

/** The messages of an authenticated record plaintext; MALFORMED_RECORD if the lengths do not tile it exactly. */
export function unpackMessages(plaintext: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o < plaintext.length) {
    if (plaintext.length - o < MESSAGE_LENGTH_BYTES) throw new KemtlsError('MALFORMED_RECORD', 'record ends inside a message length');
    const n = plaintext.readUInt32BE(o);
    o += MESSAGE_LENGTH_BYTES;
    if (n > plaintext.length - o) throw new KemtlsError('MALFORMED_RECORD', `message of ${n} bytes overruns its record`);
    out.push(plaintext.subarray(o, o + n));
    o += n;
  }
  if (out.length === 0) throw new KemtlsError('MALFORMED_RECORD', 'record carries no message');
  return out;
}
