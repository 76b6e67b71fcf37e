// KemtlsError: every failure of the KEMTLS channel, with a stable code. The
// code (lower-cased) is also the `reason` in log lines and metric labels.
// Messages name sizes, states, addresses and fingerprints only, never key
// material or shared secrets. See docs/kemtls.md, "Errors".

import { QbindError } from '../errors.ts';

export type KemtlsErrorCode =
  | 'BAD_OPTIONS' // invalid key, size or limit given by the caller
  | 'CONNECT_FAILED' // TCP connection could not be opened
  | 'LISTEN_FAILED' // server could not listen on its address
  | 'BAD_MAGIC' // first bytes are not a KEMTLS ClientHello
  | 'VERSION_MISMATCH' // peer speaks another protocol version
  | 'UNEXPECTED_MESSAGE' // a frame of the wrong type or size for the current state
  | 'BAD_CLIENT_HELLO' // ClientHello malformed (e.g. invalid ephemeral key)
  | 'CLIENT_HELLO_DECRYPT_FAILED' // client encapsulated to another server key, or tampering
  | 'UNKNOWN_CLIENT' // client static key not on the allow list
  | 'REPLAYED_HANDSHAKE' // this exact ClientHello was seen before
  | 'BAD_SERVER_HELLO' // ServerHello does not decrypt: wrong server key, or tampering
  | 'BAD_SERVER_FINISHED' // server key confirmation failed
  | 'BAD_CLIENT_FINISHED' // client key confirmation failed
  | 'HANDSHAKE_REJECTED' // server answered with a handshake_failed alert
  | 'SERVER_BUSY' // server at its connection limit
  | 'HANDSHAKE_TIMEOUT' // handshake not complete within the time limit
  | 'HANDSHAKE_EVICTED' // a pending handshake dropped to make room under load
  | 'PEER_CLOSED' // peer closed the TCP connection mid-handshake or without close_notify
  | 'FRAME_TOO_LARGE' // a frame header announced more than the limit
  | 'BAD_RECORD' // record authentication failed: tampered, reordered, replayed or dropped
  | 'MALFORMED_RECORD' // authenticated record whose contents break the format (peer bug)
  | 'MESSAGE_TOO_LARGE' // local send() of a message over the limit
  | 'SEQUENCE_EXHAUSTED' // 2^48 records sent or received on one connection
  | 'CONNECTION_CLOSED' // send() on a closed connection
  | 'SOCKET_ERROR' // TCP error (reset, broken pipe) after connecting
  | 'SERVER_CLOSING'; // server shut down

export class KemtlsError extends QbindError {
  declare readonly code: KemtlsErrorCode;

  constructor(code: KemtlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** The code as it appears in log lines and metric labels. */
  get reason(): string {
    return this.code.toLowerCase();
  }
}
