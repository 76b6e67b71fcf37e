// How long this machine's disk takes to make a small write durable: the
// median and p99 of fsync after a 4 KiB write in a given folder. Benchmarks
// of durable paths (protection store, audit log) print it for context, since
// on a shared VM it can vary by orders of magnitude between runs.

import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export function fsyncProbe(dir: string, count = 100): { medianMs: number; p99Ms: number } {
  const path = join(dir, `fsync-probe-${process.pid}`);
  const fd = openSync(path, 'w');
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      writeSync(fd, Buffer.alloc(4096, i));
      const t0 = performance.now();
      fsyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[times.length >> 1]!, p99Ms: times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)]! };
}
