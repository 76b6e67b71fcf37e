// A fixed pool of worker threads that run PBKDF2, one job per worker at a
// time, so that unlocking many keys uses every core whatever libuv's thread
// pool size is (UV_THREADPOOL_SIZE defaults to 4). See docs/keystore.md for
// the measurement behind this choice.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KeystoreError } from './keystore-error.ts';
import type { KdfParams } from './kdf.ts';
import type { KdfJobMessage, KdfResultMessage } from './kdf-worker.ts';

interface Pending {
  message: KdfJobMessage;
  resolve: (master: Buffer) => void;
  reject: (err: Error) => void;
}

export class KdfPool {
  readonly size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Pending>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;
  #failure: Error | null = null;

  constructor(size: number = availableParallelism()) {
    this.size = Math.max(1, Math.floor(size));
    for (let i = 0; i < this.size; i++) this.#spawn();
  }

  #spawn(): void {
    const worker = new Worker(new URL('./kdf-worker.ts', import.meta.url));
    worker.on('message', (msg: KdfResultMessage) => {
      const job = this.#busy.get(worker);
      this.#busy.delete(worker);
      if (job) {
        if ('master' in msg) job.resolve(Buffer.from(msg.master.buffer, msg.master.byteOffset, msg.master.byteLength));
        else job.reject(new KeystoreError('KDF_WORKER_FAILED', `PBKDF2 failed in a worker thread: ${msg.error}`));
      }
      this.#idle.push(worker);
      this.#pump();
    });
    worker.on('error', (err) => this.#fail(new KeystoreError('KDF_WORKER_FAILED', `a PBKDF2 worker thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.#closed) this.#fail(new KeystoreError('KDF_WORKER_FAILED', `a PBKDF2 worker thread exited with code ${code}`));
    });
    worker.unref();
    this.#idle.push(worker);
  }

  /** Fails closed: every pending and future job is rejected. */
  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const job of [...this.#busy.values(), ...this.#queue]) {
      job.message.passphrase.fill(0);
      job.reject(err);
    }
    this.#busy.clear();
    this.#queue.length = 0;
    void this.close();
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop()!;
      const job = this.#queue.shift()!;
      this.#busy.set(worker, job);
      worker.ref();
      worker.postMessage(job.message);
      job.message.passphrase.fill(0);
    }
    for (const w of this.#idle) w.unref();
  }

  /** PBKDF2-HMAC-SHA-256 master secret (kdf.ts) computed on a worker thread. */
  derive(passphrase: Uint8Array, params: KdfParams): Promise<Buffer> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new KeystoreError('KDF_WORKER_FAILED', 'the PBKDF2 worker pool is closed'));
    return new Promise((resolve, reject) => {
      const message: KdfJobMessage = { id: this.#nextId++, passphrase: Uint8Array.from(passphrase), salt: Uint8Array.from(params.salt), iterations: params.iterations };
      this.#queue.push({ message, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const workers = [...this.#idle, ...this.#busy.keys()];
    this.#idle.length = 0;
    for (const job of [...this.#busy.values(), ...this.#queue]) job.reject(new KeystoreError('KDF_WORKER_FAILED', 'the PBKDF2 worker pool was closed'));
    this.#busy.clear();
    this.#queue.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
