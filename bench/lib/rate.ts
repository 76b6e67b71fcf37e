// Time-boxed rate measurement for benchmarks: an operation in a loop on this
// thread, with N operations in flight (async), or on N worker threads at once
// (one per core) with the rates summed. Reusable by every bench/*.bench.ts;
// the tasks a worker can run live in a module exporting `tasks` (see
// bench/lib/crypto-tasks.ts and rate-worker.ts).

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

export interface RateResult {
  /** Operations completed inside the time box. */
  readonly ops: number;
  /** Measured duration in seconds. */
  readonly seconds: number;
  /** ops / seconds (summed over threads for measureThreads). */
  readonly perSecond: number;
}

export interface ThreadRateResult extends RateResult {
  readonly threads: number;
  readonly perThread: readonly number[];
}

/** A zero-argument operation; a task factory builds one (keys, inputs) outside the timed loop. */
export type Op = () => void;
export type TaskFactory = () => Op;

/** Where a worker finds a task: a module exporting `tasks: Record<string, TaskFactory>`, and a name in it. */
export interface TaskRef {
  readonly module: URL;
  readonly name: string;
}

/** Messages between the runner and rate-worker.ts. */
export type WorkerRequest = { readonly module: string; readonly name: string; readonly durationMs: number };
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly ops: number; readonly seconds: number }
  | { readonly type: 'error'; readonly message: string };

const WARMUP_OPS = 3;

/** Number of cores benchmarks call "all cores". */
export function coreCount(): number {
  return availableParallelism();
}

/** Warm-up before timing (JIT, lazily built tables): a fifth of the time box, at most 500 ms, at least WARMUP_OPS calls. */
function warmupMs(durationMs: number): number {
  return Math.min(500, durationMs / 5);
}

/** Runs `op` in a loop on this thread for `durationMs` (after a warm-up). */
export function measureSync(op: Op, durationMs: number): RateResult {
  const warmEnd = performance.now() + warmupMs(durationMs);
  for (let i = 0; i < WARMUP_OPS || performance.now() < warmEnd; i++) op();
  let ops = 0;
  const start = performance.now();
  const end = start + durationMs;
  let now = start;
  while (now < end) {
    op();
    ops++;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { ops, seconds, perSecond: ops / seconds };
}

/** Keeps `inFlight` calls of `op` running for `durationMs`; counts completions. */
export async function measureAsync(op: () => Promise<unknown>, durationMs: number, inFlight: number): Promise<RateResult> {
  const warmEnd = performance.now() + warmupMs(durationMs);
  for (let i = 0; i < WARMUP_OPS || performance.now() < warmEnd; i++) await op();
  let ops = 0;
  const start = performance.now();
  const end = start + durationMs;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      await op();
      ops++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - start) / 1000;
  return { ops, seconds, perSecond: ops / seconds };
}

/**
 * Runs one task on `threads` worker threads at the same time: every worker
 * builds its op, all start together when the last is ready, each loops for
 * `durationMs`. The result sums the per-thread rates.
 */
export async function measureThreads(task: TaskRef, threads: number, durationMs: number): Promise<ThreadRateResult> {
  const workerUrl = new URL('./rate-worker.ts', import.meta.url);
  const request: WorkerRequest = { module: task.module.href, name: task.name, durationMs };
  const workers = Array.from({ length: threads }, () => new Worker(workerUrl, { workerData: request }));
  try {
    const ready = workers.map((w) => nextReply(w));
    for (const r of await Promise.all(ready)) {
      if (r.type !== 'ready') throw new Error(`benchmark worker for ${task.name} failed: ${r.type === 'error' ? r.message : r.type}`);
    }
    const done = workers.map((w) => nextReply(w));
    for (const w of workers) w.postMessage('go');
    const results = await Promise.all(done);
    const perThread = results.map((r) => {
      if (r.type !== 'done') throw new Error(`benchmark worker for ${task.name} failed: ${r.type === 'error' ? r.message : r.type}`);
      return r.ops / r.seconds;
    });
    const ops = results.reduce((n, r) => n + (r.type === 'done' ? r.ops : 0), 0);
    const seconds = Math.max(...results.map((r) => (r.type === 'done' ? r.seconds : 0)));
    return { ops, seconds, perSecond: perThread.reduce((a, b) => a + b, 0), threads, perThread };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function nextReply(worker: Worker): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: WorkerReply): void => {
      cleanup();
      resolve(msg);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
  });
}

/** Formats a number of operations per second for a table: 3 significant digits, thousands separated. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  const digits = perSecond >= 100 ? 0 : perSecond >= 10 ? 1 : 2;
  const rounded = Number(perSecond.toPrecision(3));
  return rounded.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** Formats a ratio as e.g. "12.3x". */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '-';
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}x`;
}

/** Renders rows as a Markdown table with padded, aligned columns (numbers right-aligned): readable in a terminal and in docs. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,x]+$/.test(r[i] ?? '-')));
  const line = (cells: readonly string[]): string =>
    '| ' + cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ') + ' |';
  const rule = '| ' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ') + ' |';
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? '')))].join('\n');
}
