// The node side of the remote signer protocol: a RemoteSignerTransport over a
// message channel (a KEMTLS connection in production). It pipelines requests
// by id, times each one out, connects lazily and reconnects with exponential
// backoff after a failure; while the signer is unreachable requests fail at
// once with UNAVAILABLE instead of queueing.

import { SignError } from '../signer/sign-error.ts';
import type { RemoteSignRequest, RemoteSignResponse, RemoteSignerTransport } from '../signer/remote-protocol.ts';
import { remoteSignDurationSeconds, remoteSignFailuresTotal } from './signer-metrics.ts';
import { decodeSignResponse, encodeSignRequest } from './wire.ts';

/** What the transport needs of a connection. */
export interface MessageChannel {
  send(message: Uint8Array): void;
  onMessage(handler: (message: Uint8Array) => void): void;
  onClose(handler: (reason: string) => void): void;
  close(): void;
}

export interface RemoteTransportOptions {
  /** Opens a new authenticated channel to the signer. */
  connect: () => Promise<MessageChannel>;
  requestTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

interface Pending {
  resolve: (r: RemoteSignResponse) => void;
  reject: (e: SignError) => void;
  timer: NodeJS.Timeout;
  kind: string;
  started: number;
}

export class RemoteTransport implements RemoteSignerTransport {
  readonly #options: Required<RemoteTransportOptions>;
  readonly #pending = new Map<bigint, Pending>();
  #channel: MessageChannel | null = null;
  #connecting: Promise<MessageChannel> | null = null;
  #nextId = 1n;
  #backoffMs = 0;
  #retryAt = 0;
  #lastError = '';
  #closed = false;

  constructor(options: RemoteTransportOptions) {
    this.#options = { requestTimeoutMs: 2000, backoffInitialMs: 100, backoffMaxMs: 5000, ...options };
  }

  #fail(reason: string, message: string): SignError {
    remoteSignFailuresTotal.inc({ reason });
    return new SignError('UNAVAILABLE', message);
  }

  async #ensureChannel(): Promise<MessageChannel> {
    if (this.#channel) return this.#channel;
    if (this.#closed) throw new SignError('SIGNER_CLOSED', 'remote signer client is closed');
    const now = Date.now();
    if (!this.#connecting && now < this.#retryAt) {
      throw this.#fail('transport', `remote signer unreachable (${this.#lastError}); next attempt in ${this.#retryAt - now} ms`);
    }
    this.#connecting ??= this.#options.connect().then(
      (channel) => {
        this.#connecting = null;
        if (this.#closed) {
          channel.close();
          throw new SignError('SIGNER_CLOSED', 'remote signer client is closed');
        }
        this.#backoffMs = 0;
        this.#attach(channel);
        return channel;
      },
      (err: unknown) => {
        this.#connecting = null;
        this.#lastError = err instanceof Error ? err.message : String(err);
        this.#backoffMs = Math.min(this.#options.backoffMaxMs, this.#backoffMs ? this.#backoffMs * 2 : this.#options.backoffInitialMs);
        this.#retryAt = Date.now() + this.#backoffMs;
        throw this.#fail('transport', `remote signer unreachable: ${this.#lastError}`);
      },
    );
    return this.#connecting;
  }

  #attach(channel: MessageChannel): void {
    this.#channel = channel;
    channel.onMessage((bytes) => {
      let decoded;
      try {
        decoded = decodeSignResponse(bytes);
      } catch (err) {
        // A signer that speaks garbage is not trusted for anything still in flight.
        channel.close();
        this.#dropAll('protocol', `bad response from remote signer: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      const p = this.#pending.get(decoded.requestId);
      if (!p) return; // answer to a request that already timed out
      this.#pending.delete(decoded.requestId);
      clearTimeout(p.timer);
      remoteSignDurationSeconds.observe({ kind: p.kind }, (performance.now() - p.started) / 1000);
      if (decoded.response.error) remoteSignFailuresTotal.inc({ reason: decoded.response.error.code.toLowerCase() });
      p.resolve(decoded.response);
    });
    channel.onClose((reason) => {
      if (this.#channel === channel) this.#channel = null;
      this.#dropAll('transport', `connection to remote signer lost: ${reason}`);
    });
  }

  #dropAll(reason: string, message: string): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(this.#fail(reason, message));
    }
  }

  async sendSignRequest(request: RemoteSignRequest): Promise<RemoteSignResponse> {
    const channel = await this.#ensureChannel();
    const requestId = this.#nextId++;
    return new Promise<RemoteSignResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(this.#fail('timeout', `remote signer did not answer within ${this.#options.requestTimeoutMs} ms`));
      }, this.#options.requestTimeoutMs);
      this.#pending.set(requestId, { resolve, reject, timer, kind: request.kind, started: performance.now() });
      try {
        channel.send(encodeSignRequest({ ...request, requestId }));
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(requestId);
        reject(this.#fail('transport', `could not send to remote signer: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channel?.close();
    this.#channel = null;
    this.#dropAll('closed', 'remote signer client closed');
  }
}
