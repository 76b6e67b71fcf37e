// Load generators for request/response benchmarks, counting outcomes and
// timing each request: a closed loop (N requests always in flight, as fast as
// they complete) and an open loop (requests started at a fixed rate by timers,
// whether or not earlier ones finished, so queueing shows up in the latency
// instead of slowing the sender). Latency in the open loop runs from each
// request's scheduled start, so a late timer or a blocked event loop is
// counted too (no coordinated omission). Failures are counted by a label the
// caller derives from the error; only successes contribute latencies.

import { performance } from 'node:perf_hooks';

/** One request; `seq` numbers them from 0 in start order. */
export type Request = (seq: number) => Promise<unknown>;

export interface LoadResult {
  /** Requests started inside the time box. */
  readonly started: number;
  /** Requests that resolved. */
  readonly ok: number;
  /** Rejections by label. */
  readonly failed: ReadonlyMap<string, number>;
  /** From the first start to the last completion, seconds. */
  readonly seconds: number;
  /** Successful requests per second over `seconds`. */
  readonly okPerSecond: number;
  /** Latency of each successful request in ms, sorted ascending. */
  readonly latenciesMs: Float64Array;
}

export interface LoadOptions {
  /** Label for a rejection (default: its `code` property, else 'error'). */
  classify?: (err: unknown) => string;
}

function defaultClassify(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : null;
  return typeof code === 'string' ? code : 'error';
}

class Tally {
  ok = 0;
  readonly failed = new Map<string, number>();
  readonly latencies: number[] = [];
  readonly #classify: (err: unknown) => string;

  constructor(options: LoadOptions) {
    this.#classify = options.classify ?? defaultClassify;
  }

  /** Runs one request whose clock started at `t0`. */
  async track(request: Request, seq: number, t0: number): Promise<void> {
    try {
      await request(seq);
      this.latencies.push(performance.now() - t0);
      this.ok++;
    } catch (err) {
      const label = this.#classify(err);
      this.failed.set(label, (this.failed.get(label) ?? 0) + 1);
    }
  }

  result(started: number, seconds: number): LoadResult {
    const latenciesMs = Float64Array.from(this.latencies).sort();
    return { started, ok: this.ok, failed: this.failed, seconds, okPerSecond: this.ok / seconds, latenciesMs };
  }
}

/** Keeps `inFlight` requests running until `durationMs` has passed, then waits for those in flight. */
export async function closedLoop(request: Request, durationMs: number, inFlight: number, options: LoadOptions = {}): Promise<LoadResult> {
  const tally = new Tally(options);
  let seq = 0;
  const start = performance.now();
  const end = start + durationMs;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const s = seq++;
      await tally.track(request, s, performance.now());
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return tally.result(seq, (performance.now() - start) / 1000);
}

/**
 * Starts request i at start + i / ratePerSecond for `durationMs`, from timers
 * (several per timer tick when the rate is above the timer resolution), then
 * waits for every request started.
 */
export async function openLoop(request: Request, ratePerSecond: number, durationMs: number, options: LoadOptions = {}): Promise<LoadResult> {
  if (!(ratePerSecond > 0)) throw new RangeError(`open-loop rate must be > 0, got ${ratePerSecond}`);
  const tally = new Tally(options);
  const total = Math.max(1, Math.floor((ratePerSecond * durationMs) / 1000));
  const interval = 1000 / ratePerSecond;
  // Counts requests in flight rather than keeping their promises: a long run (a soak) must not grow memory.
  let outstanding = 0;
  let allStarted = false;
  let finish = (): void => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settle = (): void => {
    if (--outstanding === 0 && allStarted) finish();
  };
  const start = performance.now();
  let seq = 0;
  const tick = (): void => {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / interval) + 1);
    while (seq < due) {
      const s = seq++;
      outstanding++;
      void tally.track(request, s, start + s * interval).then(settle);
    }
    if (seq < total) return void setTimeout(tick, Math.max(0, start + seq * interval - performance.now()));
    allStarted = true;
    if (outstanding === 0) finish();
  };
  tick();
  await finished;
  return tally.result(seq, (performance.now() - start) / 1000);
}

/** The q-quantile (0..1) of ascending values, nearest rank; NaN when empty. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** "a: 3, b: 1" for a failure map; "0" when empty. */
export function formatFailures(failed: ReadonlyMap<string, number>): string {
  if (failed.size === 0) return '0';
  return [...failed].map(([k, n]) => `${k}: ${n}`).join(', ');
}

/** Several runs of the same load (e.g. time slices alternated with another load) as one result. */
export function mergeResults(results: readonly LoadResult[]): LoadResult {
  const failed = new Map<string, number>();
  for (const r of results) for (const [k, n] of r.failed) failed.set(k, (failed.get(k) ?? 0) + n);
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const all = new Float64Array(results.reduce((n, r) => n + r.latenciesMs.length, 0));
  let at = 0;
  for (const r of results) {
    all.set(r.latenciesMs, at);
    at += r.latenciesMs.length;
  }
  return { started: results.reduce((n, r) => n + r.started, 0), ok, failed, seconds, okPerSecond: seconds > 0 ? ok / seconds : 0, latenciesMs: all.sort() };
}
