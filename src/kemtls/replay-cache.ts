// A bounded first-in-first-out set of ClientHello transcript hashes (th1), so
// the server can refuse a replayed ClientHello at once. It is defence in depth:
// a replayed handshake fails anyway at ClientFinished, because the server's
// fresh encapsulations change the keys. Only ClientHellos from allowed
// clients that decrypted are recorded, so garbage cannot flush it.

export class ReplayCache {
  readonly #capacity: number;
  readonly #seen = new Set<string>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True when `key` was seen before; otherwise records it (evicting the oldest entry when full). */
  check(key: Uint8Array): boolean {
    if (this.#capacity <= 0) return false;
    const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
    if (this.#seen.has(id)) return true;
    this.#seen.add(id);
    if (this.#seen.size > this.#capacity) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return false;
  }
}
