// KemtlsConnection: an established, mutually authenticated KEMTLS channel over
// a TCP socket, on either side. Messages are sent and delivered whole and in
// order; messages sent in the same tick go out in one record and one write. Any record that fails authentication, an oversized or
// unexpected frame, or a socket error ends the connection at once (fail
// closed) with a logged reason; close() ends it with an authenticated
// close_notify. Until a 'message' listener is attached, messages are queued
// (and reading pauses when the queue is long), so none is lost between the
// 'connection' event and the application wiring its handlers.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import type { Logger } from '../log/logger.ts';
import type { FrameReader } from './frame-reader.ts';
import type { TrafficKeys } from './key-schedule.ts';
import { KemtlsError } from './kemtls-error.ts';
import { kemtlsConnectionFailuresTotal, kemtlsConnectionsOpen } from './metrics.ts';
import { RecordOpener, RecordSealer } from './record.ts';
import { COALESCE_LIMIT, MESSAGE_LENGTH_BYTES, packMessages, unpackMessages } from './message-batch.ts';
import { AEAD_TAG_BYTES, FRAME_APPLICATION_DATA, FRAME_CLOSE_NOTIFY } from './wire.ts';

export type KemtlsRole = 'client' | 'server';

export interface KemtlsConnectionEvents {
  /** One whole message from the peer. */
  message: [message: Buffer];
  /** Emitted once, only when the connection ended by a failure (and only if someone listens), just before 'close'. */
  error: [error: KemtlsError];
  /** Emitted exactly once; `reason` is null after a clean close_notify exchange. */
  close: [reason: KemtlsError | null];
}

/** What a handshake driver hands over once both Finished messages checked. */
export interface EstablishedChannel {
  role: KemtlsRole;
  socket: Socket;
  /** Holds any bytes that arrived after the last handshake message. */
  reader: FrameReader;
  keys: TrafficKeys;
  peerPublicKey: Buffer;
  maxFrameBytes: number;
  logger: Logger;
}

const QUEUE_PAUSE_AT = 64;
/** Unsent bytes at which we stop reading the peer's requests until the socket drains. */
const WRITE_PAUSE_AT = 1024 * 1024;
const CLOSE_LINGER_MS = 2000;

export class KemtlsConnection extends EventEmitter<KemtlsConnectionEvents> {
  readonly role: KemtlsRole;
  /** The peer's static ML-KEM-768 public key (1184 bytes), authenticated by the handshake. */
  readonly peerPublicKey: Buffer;
  /** publicKeyFingerprint(peerPublicKey): 32 hex characters, safe for logs. */
  readonly peerFingerprint: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Largest message send() takes: maxFrameBytes - 16 (tag) - 4 (length). */
  readonly maxMessageBytes: number;
  readonly #coalesceLimit: number;
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #sealer: RecordSealer;
  readonly #opener: RecordOpener;
  readonly #log: Logger;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closeReason: KemtlsError | null = null;
  #queue: Buffer[] = [];
  #outbox: Uint8Array[] = [];
  #outboxScheduled = false;
  #pausedByQueue = false;
  #pausedByWrites = false;
  #flushScheduled = false;
  #lingerTimer: NodeJS.Timeout | null = null;

  constructor(channel: EstablishedChannel) {
    super();
    this.role = channel.role;
    this.peerPublicKey = channel.peerPublicKey;
    this.peerFingerprint = publicKeyFingerprint(channel.peerPublicKey);
    this.#socket = channel.socket;
    this.remoteAddress = channel.socket.remoteAddress ?? '';
    this.remotePort = channel.socket.remotePort ?? 0;
    this.maxMessageBytes = channel.maxFrameBytes - AEAD_TAG_BYTES - MESSAGE_LENGTH_BYTES;
    this.#coalesceLimit = Math.min(COALESCE_LIMIT, this.maxMessageBytes + MESSAGE_LENGTH_BYTES);
    this.#reader = channel.reader;
    this.#reader.maxBody = channel.maxFrameBytes;
    const { clientToServer, serverToClient } = channel.keys;
    const outbound = this.role === 'client' ? clientToServer : serverToClient;
    const inbound = this.role === 'client' ? serverToClient : clientToServer;
    this.#sealer = new RecordSealer(outbound);
    this.#opener = new RecordOpener(inbound);
    for (const k of [clientToServer, serverToClient]) {
      k.key.fill(0);
      k.iv.fill(0);
    }
    this.#log = channel.logger.child({ component: 'kemtls', role: this.role, peer: this.peerFingerprint, remote: `${this.remoteAddress}:${this.remotePort}` });
    kemtlsConnectionsOpen.inc({ role: this.role });

    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('end', () => this.#onEnd());
    this.#socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(new KemtlsError('SOCKET_ERROR', `socket error: ${err.code ?? err.message}`)));
    this.#socket.on('close', () => this.#finish());
    this.#socket.on('drain', () => this.#onDrain());
    (this as unknown as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'message' && this.#queue.length > 0) this.#scheduleFlush();
    });
  }

  /** True once the connection can no longer send. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** Why the connection ended: null while open or after a clean close. */
  get closeReason(): KemtlsError | null {
    return this.#closeReason;
  }

  /** Processes bytes that arrived together with the last handshake message. Called once by the driver. */
  start(): void {
    if (this.#socket.destroyed) {
      this.#finish();
      return;
    }
    this.#drain();
    if (this.#state === 'open' && !this.#pausedByQueue && !this.#pausedByWrites) this.#socket.resume();
  }

  /**
   * Queues one message (at most maxMessageBytes; copied, so the caller may
   * reuse its buffer). Messages queued in the same tick are sealed and written
   * together. Throws CONNECTION_CLOSED or MESSAGE_TOO_LARGE.
   */
  send(message: Uint8Array): void {
    if (this.#state !== 'open') throw new KemtlsError('CONNECTION_CLOSED', 'KEMTLS connection is closed');
    if (message.length > this.maxMessageBytes) {
      throw new KemtlsError('MESSAGE_TOO_LARGE', `message of ${message.length} bytes exceeds the limit of ${this.maxMessageBytes} bytes`);
    }
    this.#outbox.push(Buffer.from(message));
    if (!this.#outboxScheduled) {
      this.#outboxScheduled = true;
      process.nextTick(() => this.#flush());
    }
  }

  /** Seals everything queued into as few records as the coalescing limit allows and writes them at once. */
  #flush(): void {
    this.#outboxScheduled = false;
    const messages = this.#outbox;
    this.#outbox = [];
    if (messages.length === 0 || this.#socket.destroyed || this.#closeReason) return;
    try {
      const frames = packMessages(messages, this.#coalesceLimit).map((p) => this.#sealer.seal(FRAME_APPLICATION_DATA, p));
      if (frames.length === 1) this.#socket.write(frames[0]!);
      else {
        this.#socket.cork();
        for (const f of frames) this.#socket.write(f);
        this.#socket.uncork();
      }
    } catch (err) {
      this.#fail(err instanceof KemtlsError ? err : new KemtlsError('SOCKET_ERROR', 'record sealing failed', { cause: err }));
      return;
    }
    // A peer that does not read what we send cannot make us buffer without bound: stop reading it.
    if (this.#socket.writableLength >= WRITE_PAUSE_AT && !this.#pausedByWrites) {
      this.#pausedByWrites = true;
      this.#socket.pause();
    }
  }

  #onDrain(): void {
    if (!this.#pausedByWrites) return;
    this.#pausedByWrites = false;
    if (this.#state === 'open' && !this.#pausedByQueue) {
      this.#socket.resume();
      this.#drain();
    }
  }

  /** Ends the connection cleanly: sends what is queued, then close_notify, then closes the socket. */
  close(): void {
    if (this.#state !== 'open') return;
    this.#flush();
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    try {
      this.#socket.end(this.#sealer.seal(FRAME_CLOSE_NOTIFY, Buffer.alloc(0)));
    } catch {
      this.#socket.destroy();
      return;
    }
    this.#linger();
  }

  /** Ends the connection at once, without close_notify. */
  destroy(reason?: KemtlsError): void {
    if (this.#state === 'closed') return;
    if (reason) this.#fail(reason);
    else {
      this.#state = 'closing';
      this.#socket.destroy();
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#state !== 'open') return;
    this.#reader.push(chunk);
    this.#drain();
  }

  #drain(): void {
    try {
      while (this.#state === 'open' && !this.#pausedByQueue && !this.#pausedByWrites) {
        const frame = this.#reader.next();
        if (!frame) return;
        if (frame.type === FRAME_APPLICATION_DATA) {
          for (const m of unpackMessages(this.#opener.open(frame.header, frame.body))) {
            if (this.#state !== 'open') break;
            this.#deliver(m);
          }
        } else if (frame.type === FRAME_CLOSE_NOTIFY) {
          const rest = this.#opener.open(frame.header, frame.body);
          if (rest.length !== 0) throw new KemtlsError('UNEXPECTED_MESSAGE', 'close_notify record carries data');
          this.#state = 'closing';
          this.#reader.clear();
          this.#socket.end();
          this.#linger();
          return;
        } else {
          throw new KemtlsError('UNEXPECTED_MESSAGE', `unexpected frame type 0x${frame.type.toString(16).padStart(2, '0')} after the handshake`);
        }
      }
    } catch (err) {
      this.#fail(err instanceof KemtlsError ? err : new KemtlsError('UNEXPECTED_MESSAGE', 'failed to process a record', { cause: err }));
    }
  }

  #deliver(message: Buffer): void {
    if (this.#queue.length === 0 && this.listenerCount('message') > 0) {
      this.#emitMessage(message);
      return;
    }
    this.#queue.push(message);
    if (this.#queue.length >= QUEUE_PAUSE_AT && !this.#pausedByQueue) {
      this.#pausedByQueue = true;
      this.#socket.pause();
    }
    if (this.listenerCount('message') > 0) this.#scheduleFlush();
  }

  #emitMessage(message: Buffer): void {
    try {
      this.emit('message', message);
    } catch (err) {
      // A throwing handler must not take the process down; it ends this connection.
      this.#log.error('kemtls message handler threw; closing connection', { error: err instanceof Error ? err.message : String(err) });
      this.destroy(new KemtlsError('UNEXPECTED_MESSAGE', 'application message handler threw', { cause: err }));
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      while (this.#queue.length > 0 && this.listenerCount('message') > 0) this.#emitMessage(this.#queue.shift()!);
      if (this.#queue.length === 0 && this.#pausedByQueue && this.#state === 'open') {
        this.#pausedByQueue = false;
        if (!this.#pausedByWrites) {
          this.#socket.resume();
          this.#drain();
        }
      }
    });
  }

  #onEnd(): void {
    if (this.#state === 'open') this.#fail(new KemtlsError('PEER_CLOSED', 'peer closed the connection without close_notify'));
  }

  #linger(): void {
    this.#lingerTimer = setTimeout(() => this.#socket.destroy(), CLOSE_LINGER_MS);
    this.#lingerTimer.unref();
  }

  #fail(error: KemtlsError): void {
    if (this.#state === 'closed' || this.#closeReason) return;
    this.#closeReason = error;
    this.#state = 'closing';
    this.#reader.clear();
    this.#outbox = [];
    const fields = { reason: error.reason, detail: error.message };
    if (error.code === 'PEER_CLOSED' || error.code === 'SOCKET_ERROR') this.#log.info('kemtls connection lost', fields);
    else this.#log.warn('kemtls connection failed', fields);
    kemtlsConnectionFailuresTotal.inc({ role: this.role, reason: error.reason });
    this.#socket.destroy();
  }

  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#lingerTimer) clearTimeout(this.#lingerTimer);
    this.#reader.clear();
    kemtlsConnectionsOpen.dec({ role: this.role });
    const reason = this.#closeReason;
    if (reason && this.listenerCount('error') > 0) {
      try {
        this.emit('error', reason);
      } catch (err) {
        this.#log.error('kemtls error handler threw', { error: err instanceof Error ? err.message : String(err) });
      }
    }
    try {
      this.emit('close', reason);
    } catch (err) {
      this.#log.error('kemtls close handler threw', { error: err instanceof Error ? err.message : String(err) });
    }
  }
}
