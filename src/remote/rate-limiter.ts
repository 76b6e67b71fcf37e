// Token-bucket rate limiter for rate_limit_rps: up to `rps` requests in any
// burst, refilled continuously. Over the limit a request is refused at once
// (RateLimited); nothing is ever queued.

export class RateLimiter {
  readonly #rps: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  /** `rps` <= 0 disables limiting. `now` returns milliseconds (tests inject a clock). */
  constructor(rps: number, now: () => number = () => performance.now()) {
    this.#rps = rps;
    this.#now = now;
    this.#tokens = rps;
    this.#last = now();
  }

  tryTake(): boolean {
    if (this.#rps <= 0) return true;
    const t = this.#now();
    this.#tokens = Math.min(this.#rps, this.#tokens + ((t - this.#last) / 1000) * this.#rps);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
