// connect(): opens a TCP connection to a KEMTLS server, runs the client
// handshake under a deadline and resolves with the authenticated connection
// once the server proved it holds the expected key (ServerFinished checked)
// and ClientFinished is sent. Every failure rejects with a KemtlsError and
// leaves no socket behind.

import { connect as tcpConnect, type Socket } from 'node:net';
import { importKemPublicKey, type KemKeyPair } from '../crypto/kem.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { KemtlsConnection } from './connection.ts';
import type { KemtlsEntropy } from './entropy.ts';
import { FrameReader } from './frame-reader.ts';
import { ClientHandshake } from './handshake.ts';
import { KemtlsError } from './kemtls-error.ts';
import { checkLimit, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES, MIN_FRAME_BYTES } from './limits.ts';
import { kemtlsHandshakesTotal } from './metrics.ts';
import { ALERT_BODY_BYTES, alertError, FRAME_ALERT, FRAME_SERVER_HELLO, KEM_PUBLIC_KEY_BYTES, SERVER_HELLO_BODY_BYTES } from './wire.ts';

export interface KemtlsConnectOptions {
  host: string;
  port: number;
  /** This client's static ML-KEM-768 key pair (the P2P identity key). */
  clientKey: KemKeyPair;
  /** The only server key this client accepts (raw, 1184 bytes). */
  serverPublicKey: Uint8Array;
  /** Deadline for TCP connect + handshake (default 10 000 ms). */
  handshakeTimeoutMs?: number;
  /** Largest record body (message + 16-byte tag) accepted from the server (default 65 536). */
  maxFrameBytes?: number;
  logger?: Logger;
  /** Randomness and encapsulation; tests only. */
  entropy?: KemtlsEntropy;
}

function optionsError(options: KemtlsConnectOptions): KemtlsError | null {
  if (typeof options.host !== 'string' || options.host === '') return new KemtlsError('BAD_OPTIONS', 'host is required');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) return new KemtlsError('BAD_OPTIONS', `port must be 1..65535, got ${options.port}`);
  if (!(options.serverPublicKey instanceof Uint8Array) || options.serverPublicKey.length !== KEM_PUBLIC_KEY_BYTES) {
    return new KemtlsError('BAD_OPTIONS', `serverPublicKey must be a ${KEM_PUBLIC_KEY_BYTES}-byte ML-KEM-768 public key`);
  }
  if (options.clientKey?.publicKey?.length !== KEM_PUBLIC_KEY_BYTES) return new KemtlsError('BAD_OPTIONS', 'clientKey must be an ML-KEM-768 key pair');
  return null;
}

/** Connects and authenticates; rejects with a KemtlsError (CONNECT_FAILED, HANDSHAKE_REJECTED, BAD_SERVER_FINISHED, ...). */
export function connect(options: KemtlsConnectOptions): Promise<KemtlsConnection> {
  return new Promise((resolve, reject) => {
    let handshake: ClientHandshake;
    let timeoutMs: number;
    let maxFrameBytes: number;
    try {
      const bad = optionsError(options);
      if (bad) throw bad;
      timeoutMs = checkLimit('handshakeTimeoutMs', options.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS, 1);
      maxFrameBytes = checkLimit('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, MIN_FRAME_BYTES);
      let serverPublicKeyObject;
      try {
        serverPublicKeyObject = importKemPublicKey(options.serverPublicKey);
      } catch (err) {
        throw new KemtlsError('BAD_OPTIONS', `server public key ${publicKeyFingerprint(options.serverPublicKey)} is not a valid ML-KEM-768 public key`, { cause: err });
      }
      handshake = new ClientHandshake({
        clientKey: options.clientKey,
        serverPublicKey: options.serverPublicKey,
        serverPublicKeyObject,
        ...(options.entropy ? { entropy: options.entropy } : {}),
      });
    } catch (err) {
      reject(err);
      return;
    }
    const address = `${options.host}:${options.port}`;
    const log = (options.logger ?? createLogger()).child({ component: 'kemtls', role: 'client', remote: address, server: publicKeyFingerprint(options.serverPublicKey) });
    const reader = new FrameReader(SERVER_HELLO_BODY_BYTES);
    let settled = false;
    let connected = false;
    const socket: Socket = tcpConnect({ host: options.host, port: options.port, noDelay: true });

    const fail = (error: KemtlsError): void => {
      if (settled) return;
      settled = true;
      detach();
      socket.on('error', () => {}); // nothing more to report; never crash on a late error
      reader.clear();
      handshake.abort();
      socket.destroy();
      kemtlsHandshakesTotal.inc({ role: 'client', result: error.reason });
      log.warn('kemtls handshake failed', { reason: error.reason, detail: error.message });
      reject(error);
    };
    const onConnect = (): void => {
      connected = true;
      socket.setKeepAlive(true, 30_000);
      try {
        socket.write(handshake.start());
      } catch (err) {
        fail(err instanceof KemtlsError ? err : new KemtlsError('BAD_OPTIONS', 'could not build the ClientHello', { cause: err }));
      }
    };
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      reader.push(chunk);
      try {
        const frame = reader.next();
        if (!frame) return;
        if (frame.type === FRAME_ALERT) {
          if (frame.body.length !== ALERT_BODY_BYTES) throw new KemtlsError('UNEXPECTED_MESSAGE', `alert of ${frame.body.length} bytes (expected ${ALERT_BODY_BYTES})`);
          throw alertError(frame.body);
        }
        if (frame.type !== FRAME_SERVER_HELLO) throw new KemtlsError('UNEXPECTED_MESSAGE', `expected ServerHello, got frame type 0x${frame.type.toString(16)}`);
        const clientFinished = handshake.finish(frame.bytes);
        settled = true;
        detach();
        socket.pause();
        socket.write(clientFinished);
        const conn = new KemtlsConnection({ role: 'client', socket, reader, keys: handshake.keys, peerPublicKey: Buffer.from(options.serverPublicKey), maxFrameBytes, logger: options.logger ?? createLogger() });
        kemtlsHandshakesTotal.inc({ role: 'client', result: 'ok' });
        log.debug('kemtls connection established');
        resolve(conn);
        // Any record that came with the ServerHello is delivered once the caller had a chance to listen.
        setImmediate(() => conn.start());
      } catch (err) {
        fail(err instanceof KemtlsError ? err : new KemtlsError('UNEXPECTED_MESSAGE', 'malformed ServerHello', { cause: err }));
      }
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      fail(connected
        ? new KemtlsError('SOCKET_ERROR', `socket error during the handshake with ${address}: ${err.code ?? err.message}`)
        : new KemtlsError('CONNECT_FAILED', `cannot connect to ${address}: ${err.code ?? err.message}`));
    };
    const onClose = (): void => fail(new KemtlsError('PEER_CLOSED', `${address} closed the connection during the handshake`));
    const timer = setTimeout(() => fail(new KemtlsError('HANDSHAKE_TIMEOUT', `no KEMTLS handshake with ${address} within ${timeoutMs} ms`)), timeoutMs);
    const detach = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('end', onClose);
    };
    socket.on('connect', onConnect);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onClose);
  });
}
