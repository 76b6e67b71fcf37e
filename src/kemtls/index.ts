// Public surface of the KEMTLS channel between node and remote signer:
// connect() on the node side, createKemtlsServer() on the signer side, the
// KemtlsConnection both get, and the pure handshake for tests and tools.
// Protocol: docs/kemtls.md.

export { connect, type KemtlsConnectOptions } from './client.ts';
export { createKemtlsServer, KemtlsServer, type KemtlsServerEvents, type KemtlsServerOptions, type KemtlsServerStats } from './server.ts';
export { KemtlsConnection, type KemtlsConnectionEvents, type KemtlsRole } from './connection.ts';
export { KemtlsError, type KemtlsErrorCode } from './kemtls-error.ts';
export { ClientHandshake, ServerHandshake, CLIENT_HELLO_BYTES, SERVER_HELLO_BYTES, CLIENT_FINISHED_BYTES, type ClientHandshakeOptions, type ServerHandshakeOptions, type HandshakeTrace } from './handshake.ts';
export { systemEntropy, type KemtlsEntropy } from './entropy.ts';
export { RecordOpener, RecordSealer } from './record.ts';
export { packMessages, unpackMessages, COALESCE_LIMIT } from './message-batch.ts';
export { FrameReader, type Frame } from './frame-reader.ts';
export { PROTOCOL_NAME, type TrafficKeys, type DirectionKeys } from './key-schedule.ts';
export { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES } from './limits.ts';
export {
  KEMTLS_MAGIC, KEMTLS_VERSION, looksLikeKemtls, encodeAlert, encodePreamble, encodeFrame, encodeFrameHeader,
  FRAME_ALERT, FRAME_APPLICATION_DATA, FRAME_CLIENT_FINISHED, FRAME_CLIENT_HELLO, FRAME_CLOSE_NOTIFY, FRAME_SERVER_HELLO,
  ALERT_HANDSHAKE_FAILED, ALERT_SERVER_BUSY, ALERT_VERSION_MISMATCH,
} from './wire.ts';
