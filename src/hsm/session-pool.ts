// A fixed pool of logged-in PKCS#11 sessions on one slot. A PKCS#11 session
// runs one operation at a time, so each concurrent signature borrows its own
// session; callers beyond the pool size wait in FIFO order. The pool can be
// drained (wait until every borrowed session is back) and reopened, which is
// how the provider recovers from a lost session or login.

import { HsmError } from './hsm-error.ts';
import type { Handle, Pkcs11Api } from './pkcs11-api.ts';
import { CKF_RW_SESSION, CKF_SERIAL_SESSION } from './pkcs11-constants.ts';

export class SessionPool {
  readonly size: number;
  readonly #api: Pkcs11Api;
  #slot: Handle;
  #idle: Handle[] = [];
  #all: Handle[] = [];
  #borrowed = 0;
  #waiters: Array<{ resolve: (s: Handle) => void; reject: (e: Error) => void }> = [];
  #drainWaiters: Array<() => void> = [];
  #paused = false;
  #closed = false;

  constructor(api: Pkcs11Api, slot: Handle, size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 64) throw new HsmError('HSM_CONFIG_INVALID', `session pool size must be 1..64, got ${size}`);
    this.#api = api;
    this.#slot = slot;
    this.size = size;
  }

  /** Opens `size` read/write sessions. Throws what C_OpenSession throws. */
  open(): void {
    for (let i = this.#all.length; i < this.size; i++) {
      const s = this.#api.C_OpenSession(this.#slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
      this.#all.push(s);
      this.#idle.push(s);
    }
  }

  /** Any one session, for calls that do not need exclusive use (login, lookups done synchronously). */
  any(): Handle {
    const s = this.#all[0];
    if (!s || this.#closed) throw new HsmError('HSM_NOT_CONNECTED', 'no open PKCS#11 session');
    return s;
  }

  get borrowed(): number {
    return this.#borrowed;
  }

  acquire(): Promise<Handle> {
    if (this.#closed) return Promise.reject(new HsmError('HSM_NOT_CONNECTED', 'the PKCS#11 session pool is closed'));
    const s = this.#paused ? undefined : this.#idle.pop();
    if (s) {
      this.#borrowed++;
      return Promise.resolve(s);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  release(session: Handle): void {
    this.#borrowed--;
    if (this.#all.includes(session)) this.#idle.push(session);
    this.#serve();
    if (this.#borrowed === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }

  #serve(): void {
    while (!this.#paused && !this.#closed && this.#idle.length > 0 && this.#waiters.length > 0) {
      const w = this.#waiters.shift()!;
      this.#borrowed++;
      w.resolve(this.#idle.pop()!);
    }
  }

  /** Stops lending sessions and resolves once every borrowed one is back. */
  async pauseAndDrain(): Promise<void> {
    this.#paused = true;
    if (this.#borrowed > 0) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Closes this pool's sessions (ignoring errors: they may be gone already) and opens new ones. */
  reopen(): void {
    this.#closeSessions();
    this.open();
  }

  /** The token moved to another slot (after re-initializing the library). */
  retarget(slot: Handle): void {
    this.#slot = slot;
  }

  #closeSessions(): void {
    for (const s of this.#all) {
      try {
        this.#api.C_CloseSession(s);
      } catch {
        // already gone with the token or the library
      }
    }
    this.#all = [];
    this.#idle = [];
  }

  resume(): void {
    this.#paused = false;
    this.#serve();
  }

  /** Closes the sessions; waiters get HSM_NOT_CONNECTED. */
  close(): void {
    this.#closed = true;
    this.#closeSessions();
    for (const w of this.#waiters.splice(0)) w.reject(new HsmError('HSM_NOT_CONNECTED', 'the HSM provider was closed'));
  }

  /** Fails every waiter (recovery gave up). */
  failWaiters(err: Error): void {
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }
}
