// The KEMTLS server: accepts TCP sockets (its own listener, or sockets handed
// over by a daemon that sniffed the first bytes), runs the server handshake
// under a deadline, admits only allow-listed client keys, and emits
// 'connection' with an authenticated KemtlsConnection. A failing handshake is
// logged with its reason, answered with a plaintext alert where useful, and
// leaves no state behind. Pending handshakes and connections are bounded; the
// oldest pending handshake is evicted when a new one needs its slot.

import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { importKemPublicKey, type KemKeyPair } from '../crypto/kem.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { KemtlsConnection } from './connection.ts';
import type { KemtlsEntropy } from './entropy.ts';
import { FrameReader } from './frame-reader.ts';
import { ServerHandshake } from './handshake.ts';
import { KemtlsError } from './kemtls-error.ts';
import { kemtlsHandshakesTotal } from './metrics.ts';
import { ReplayCache } from './replay-cache.ts';
import { checkLimit, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES, MIN_FRAME_BYTES } from './limits.ts';
import {
  ALERT_HANDSHAKE_FAILED, ALERT_SERVER_BUSY, ALERT_VERSION_MISMATCH, checkPreamble, CLIENT_FINISHED_BODY_BYTES, looksLikeKemtls,
  CLIENT_HELLO_BODY_BYTES, encodeAlert, FRAME_CLIENT_FINISHED, FRAME_CLIENT_HELLO, KEM_PUBLIC_KEY_BYTES, PREAMBLE_BYTES,
} from './wire.ts';

export interface KemtlsServerOptions {
  serverKey: KemKeyPair;
  /** Raw ML-KEM-768 public keys of the clients that may connect, or a predicate over a client's key. */
  allowedClients: Iterable<Uint8Array> | ((clientPublicKey: Uint8Array) => boolean);
  /** Deadline from accepting the socket to a verified ClientFinished (default 10 000 ms). */
  handshakeTimeoutMs?: number;
  /** Largest record body (message + 16-byte tag) accepted from a client (default 65 536). */
  maxFrameBytes?: number;
  /** Sockets held at once: pending handshakes + established connections (default 1024). */
  maxConnections?: number;
  /** Handshakes in progress at once; the oldest is evicted to admit a new one (default 64). */
  maxPendingHandshakes?: number;
  /** ClientHellos remembered to refuse replays (default 65 536; 0 disables). */
  replayCacheSize?: number;
  logger?: Logger;
  /** Randomness and encapsulation; tests only. */
  entropy?: KemtlsEntropy;
}

export interface KemtlsServerEvents {
  connection: [connection: KemtlsConnection];
}

export interface KemtlsServerStats {
  pendingHandshakes: number;
  connections: number;
  replayCacheEntries: number;
}

const ALERT_LINGER_MS = 1000;
const PREDICATE_KEY_CACHE = 256;

/** The allow list as a lookup from a client key to its imported KeyObject. */
function buildAuthorizer(allowed: KemtlsServerOptions['allowedClients']): (pk: Buffer) => KeyObject | null {
  if (typeof allowed === 'function') {
    const cache = new Map<string, KeyObject>();
    return (pk) => {
      if (allowed(pk) !== true) return null;
      const id = publicKeyFingerprint(pk) + pk.toString('base64');
      let key = cache.get(id);
      if (!key) {
        key = importKemPublicKey(pk);
        if (cache.size >= PREDICATE_KEY_CACHE) cache.delete(cache.keys().next().value!);
        cache.set(id, key);
      }
      return key;
    };
  }
  const keys = new Map<string, KeyObject>();
  for (const raw of allowed) {
    if (raw.length !== KEM_PUBLIC_KEY_BYTES) {
      throw new KemtlsError('BAD_OPTIONS', `allowed client key must be ${KEM_PUBLIC_KEY_BYTES} bytes (ML-KEM-768), got ${raw.length}`);
    }
    try {
      keys.set(Buffer.from(raw).toString('base64'), importKemPublicKey(raw));
    } catch (err) {
      throw new KemtlsError('BAD_OPTIONS', `allowed client key ${publicKeyFingerprint(raw)} is not a valid ML-KEM-768 public key`, { cause: err });
    }
  }
  return (pk) => keys.get(pk.toString('base64')) ?? null;
}

export class KemtlsServer extends EventEmitter<KemtlsServerEvents> {
  readonly #serverKey: KemKeyPair;
  readonly #authorize: (pk: Buffer) => KeyObject | null;
  readonly #replay: ReplayCache;
  readonly #handshakeTimeoutMs: number;
  readonly #maxFrameBytes: number;
  readonly #maxConnections: number;
  readonly #maxPending: number;
  readonly #entropy: KemtlsEntropy | undefined;
  readonly #log: Logger;
  readonly #pending = new Set<PendingHandshake>();
  /** Failed handshakes whose socket is still closing (alert in flight). */
  readonly #draining = new Set<PendingHandshake>();
  readonly #connections = new Set<KemtlsConnection>();
  #listener: Server | null = null;
  #closing = false;

  constructor(options: KemtlsServerOptions) {
    super();
    if (options.serverKey?.publicKey?.length !== KEM_PUBLIC_KEY_BYTES) {
      throw new KemtlsError('BAD_OPTIONS', 'serverKey must be an ML-KEM-768 key pair');
    }
    this.#serverKey = options.serverKey;
    this.#authorize = buildAuthorizer(options.allowedClients);
    this.#handshakeTimeoutMs = checkLimit('handshakeTimeoutMs', options.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS, 1);
    this.#maxFrameBytes = checkLimit('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, MIN_FRAME_BYTES);
    this.#maxConnections = checkLimit('maxConnections', options.maxConnections, 1024, 1);
    this.#maxPending = checkLimit('maxPendingHandshakes', options.maxPendingHandshakes, 64, 1);
    this.#replay = new ReplayCache(checkLimit('replayCacheSize', options.replayCacheSize, 65536, 0));
    this.#entropy = options.entropy;
    this.#log = (options.logger ?? createLogger()).child({ component: 'kemtls', role: 'server' });
  }

  get stats(): KemtlsServerStats {
    return { pendingHandshakes: this.#pending.size, connections: this.#connections.size, replayCacheEntries: this.#replay.size };
  }

  /** Starts a TCP listener of our own (port 0 picks a free port). */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    if (this.#listener) return Promise.reject(new KemtlsError('BAD_OPTIONS', 'server is already listening'));
    if (this.#closing) return Promise.reject(new KemtlsError('SERVER_CLOSING', 'server is closed'));
    const listener = createServer({ noDelay: true }, (socket) => this.acceptSocket(socket));
    this.#listener = listener;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.#listener = null;
        reject(new KemtlsError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
      };
      listener.once('error', onError);
      listener.listen(port, host, () => {
        listener.off('error', onError);
        listener.on('error', (err: NodeJS.ErrnoException) => this.#log.error('kemtls listener error', { error: err.code ?? err.message }));
        resolve(listener.address() as AddressInfo);
      });
    });
  }

  /** The address of our own listener, if any. */
  address(): AddressInfo | null {
    return (this.#listener?.address() as AddressInfo | null | undefined) ?? null;
  }

  /**
   * Takes over a socket whose first bytes (`head`, if any) were already read by
   * the caller, e.g. a daemon that serves HTTP and KEMTLS on one port.
   */
  acceptSocket(socket: Socket, head?: Uint8Array): void {
    if (socket.destroyed) return;
    if (this.#closing) {
      socket.destroy();
      return;
    }
    if (this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.values().next().value;
      oldest?.fail(new KemtlsError('HANDSHAKE_EVICTED', `handshake evicted: ${this.#maxPending} handshakes already pending`));
    }
    if (this.#pending.size + this.#connections.size >= this.#maxConnections) {
      this.#refuseBusy(socket);
      return;
    }
    const pending = new PendingHandshake(this, socket, this.#handshakeTimeoutMs, new ServerHandshake({
      serverKey: this.#serverKey,
      authorize: this.#authorize,
      isReplay: (th1) => this.#replay.check(th1),
      ...(this.#entropy ? { entropy: this.#entropy } : {}),
    }));
    this.#pending.add(pending);
    pending.start(head);
  }

  /** Stops accepting, fails pending handshakes, closes connections (close_notify) and resolves when all sockets are gone. */
  async close(): Promise<void> {
    this.#closing = true;
    const listener = this.#listener;
    this.#listener = null;
    const listenerClosed = listener ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve();
    for (const p of [...this.#pending]) p.fail(new KemtlsError('SERVER_CLOSING', 'server is shutting down'));
    const gone = [...this.#connections].map((c) => new Promise<void>((resolve) => {
      c.once('close', () => resolve());
      c.close();
    }));
    const pendingGone = [...this.#draining].map((p) => p.closed);
    await Promise.all([listenerClosed, ...gone, ...pendingGone]);
  }

  /** @internal a handshake failed: its slot is free at once, its socket closes within ALERT_LINGER_MS. */
  pendingFailed(p: PendingHandshake): void {
    this.#pending.delete(p);
    this.#draining.add(p);
  }

  /** @internal the socket of a failed handshake is closed. */
  pendingGone(p: PendingHandshake): void {
    this.#pending.delete(p);
    this.#draining.delete(p);
  }

  /** @internal the logger for one socket */
  socketLogger(socket: Socket): Logger {
    return this.#log.child({ remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}` });
  }

  /** @internal */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  #refuseBusy(socket: Socket): void {
    kemtlsHandshakesTotal.inc({ role: 'server', result: 'server_busy' });
    this.socketLogger(socket).warn('kemtls handshake failed', { reason: 'server_busy', detail: `${this.#maxConnections} connections and handshakes already held` });
    socket.on('error', () => {});
    socket.resume(); // discard input so the peer's FIN is seen and the socket closes
    socket.end(encodeAlert(ALERT_SERVER_BUSY));
    setTimeout(() => socket.destroy(), ALERT_LINGER_MS).unref();
  }

  /** @internal called by a PendingHandshake whose ClientFinished checked. */
  established(p: PendingHandshake, conn: KemtlsConnection): void {
    this.#pending.delete(p);
    kemtlsHandshakesTotal.inc({ role: 'server', result: 'ok' });
    this.#connections.add(conn);
    conn.once('close', () => this.#connections.delete(conn));
    this.#log.info('kemtls connection established', { peer: conn.peerFingerprint, remote: `${conn.remoteAddress}:${conn.remotePort}` });
    if (this.listenerCount('connection') === 0) {
      this.#log.warn('kemtls connection has no handler; closing it', { peer: conn.peerFingerprint });
      conn.close();
      return;
    }
    try {
      this.emit('connection', conn);
    } catch (err) {
      this.#log.error('kemtls connection handler threw; closing connection', { peer: conn.peerFingerprint, error: err instanceof Error ? err.message : String(err) });
      conn.destroy(new KemtlsError('UNEXPECTED_MESSAGE', 'connection handler threw', { cause: err }));
      return;
    }
    conn.start();
  }
}

/** One socket from accept to a verified ClientFinished (or failure). */
class PendingHandshake {
  readonly #server: KemtlsServer;
  readonly #socket: Socket;
  readonly #handshake: ServerHandshake;
  readonly #reader = new FrameReader(CLIENT_HELLO_BODY_BYTES);
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  readonly closed: Promise<void>;
  #state: 'preamble' | 'client_hello' | 'client_finished' | 'failed' | 'done' = 'preamble';
  #preamble: Buffer | null = null;
  #client: string | undefined;
  #resolveClosed: () => void = () => {};
  readonly #onData = (chunk: Buffer): void => this.#receive(chunk);
  readonly #onEnd = (): void => this.fail(new KemtlsError('PEER_CLOSED', 'client closed the connection during the handshake'));
  readonly #onError = (err: NodeJS.ErrnoException): void => this.fail(new KemtlsError('SOCKET_ERROR', `socket error during the handshake: ${err.code ?? err.message}`));
  readonly #onClose = (): void => this.#gone();

  constructor(server: KemtlsServer, socket: Socket, timeoutMs: number, handshake: ServerHandshake) {
    this.#server = server;
    this.#socket = socket;
    this.#handshake = handshake;
    this.#log = server.socketLogger(socket);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#timer = setTimeout(() => this.fail(new KemtlsError('HANDSHAKE_TIMEOUT', `handshake not complete after ${timeoutMs} ms (state ${this.#state})`)), timeoutMs);
    this.#timer.unref();
  }

  start(head?: Uint8Array): void {
    const s = this.#socket;
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.on('data', this.#onData);
    s.on('end', this.#onEnd);
    s.on('error', this.#onError);
    s.on('close', this.#onClose);
    if (head && head.length > 0) this.#receive(Buffer.from(head));
    if (this.#state !== 'failed') s.resume();
  }

  #receive(chunk: Buffer): void {
    if (this.#state === 'failed' || this.#state === 'done') return;
    this.#reader.push(chunk);
    try {
      this.#advance();
    } catch (err) {
      this.fail(err instanceof KemtlsError ? err : new KemtlsError('BAD_CLIENT_HELLO', 'malformed handshake message', { cause: err }));
    }
  }

  #advance(): void {
    if (this.#state === 'preamble') {
      // Refuse non-KEMTLS bytes as soon as the first one arrives.
      const head = this.#reader.peek(PREAMBLE_BYTES);
      if (head.length > 0 && !looksLikeKemtls(head)) checkPreamble(head);
      const preamble = this.#reader.readExact(PREAMBLE_BYTES);
      if (!preamble) return;
      checkPreamble(preamble);
      this.#preamble = preamble;
      this.#state = 'client_hello';
    }
    if (this.#state === 'client_hello') {
      const frame = this.#reader.next();
      if (!frame) return;
      if (frame.type !== FRAME_CLIENT_HELLO) throw new KemtlsError('UNEXPECTED_MESSAGE', `expected ClientHello, got frame type 0x${frame.type.toString(16)}`);
      const serverHello = this.#handshake.respond(Buffer.concat([this.#preamble!, frame.bytes]));
      this.#client = publicKeyFingerprint(this.#handshake.clientPublicKey);
      this.#socket.write(serverHello);
      this.#reader.maxBody = CLIENT_FINISHED_BODY_BYTES;
      this.#state = 'client_finished';
    }
    if (this.#state === 'client_finished') {
      const frame = this.#reader.next();
      if (!frame) return;
      if (frame.type !== FRAME_CLIENT_FINISHED) throw new KemtlsError('UNEXPECTED_MESSAGE', `expected ClientFinished, got frame type 0x${frame.type.toString(16)}`);
      this.#handshake.finish(frame.bytes);
      this.#establish();
    }
  }

  #detach(): void {
    clearTimeout(this.#timer);
    const s = this.#socket;
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
    s.off('error', this.#onError);
    s.off('close', this.#onClose);
  }

  #establish(): void {
    this.#state = 'done';
    this.#detach();
    this.#resolveClosed();
    this.#socket.pause();
    const conn = new KemtlsConnection({
      role: 'server',
      socket: this.#socket,
      reader: this.#reader,
      keys: this.#handshake.keys,
      peerPublicKey: this.#handshake.clientPublicKey,
      maxFrameBytes: this.#server.maxFrameBytes,
      logger: this.#log,
    });
    this.#server.established(this, conn);
  }

  /** Ends the handshake with a logged reason; an alert is sent where it helps an honest client. */
  fail(error: KemtlsError): void {
    if (this.#state === 'failed' || this.#state === 'done') return;
    const wasState = this.#state;
    this.#state = 'failed';
    clearTimeout(this.#timer);
    this.#reader.clear();
    this.#handshake.abort();
    this.#server.pendingFailed(this);
    kemtlsHandshakesTotal.inc({ role: 'server', result: error.reason });
    const fields = { reason: error.reason, state: wasState, client: this.#client, detail: error.message };
    if (error.code === 'PEER_CLOSED' || error.code === 'SERVER_CLOSING') this.#log.info('kemtls handshake ended', fields);
    else this.#log.warn('kemtls handshake failed', fields);
    const s = this.#socket;
    // Alerts only before our ServerHello: afterwards the client already treats the channel as open.
    const silent = wasState === 'client_finished' || error.code === 'BAD_MAGIC' || error.code === 'PEER_CLOSED' || error.code === 'SOCKET_ERROR'
      || error.code === 'HANDSHAKE_EVICTED' || error.code === 'SERVER_CLOSING';
    const alert = silent ? null : error.code === 'VERSION_MISMATCH' ? ALERT_VERSION_MISMATCH : ALERT_HANDSHAKE_FAILED;
    if (alert === null || s.destroyed) {
      s.destroy();
      return;
    }
    s.end(encodeAlert(alert));
    setTimeout(() => s.destroy(), ALERT_LINGER_MS).unref();
  }

  #gone(): void {
    if (this.#state !== 'failed' && this.#state !== 'done') {
      this.fail(new KemtlsError('PEER_CLOSED', 'client closed the connection during the handshake'));
    }
    this.#detach();
    this.#server.pendingGone(this);
    this.#resolveClosed();
  }
}

export function createKemtlsServer(options: KemtlsServerOptions): KemtlsServer {
  return new KemtlsServer(options);
}
