// `npm run bench -- protection`: durable double-sign protection decisions per
// second and the latency protection adds to a signing request, for 1 and for
// 1,000 validators, on the embedded SQLite store (WAL, synchronous=FULL) and
// on PostgreSQL (a throwaway local cluster, fsync on) with one and with two
// store instances sharing one database. Each rate is quoted against the raw
// all-core ML-DSA-44 sign rate measured in the same run (bench/lib). The
// signer behind the protection returns a fixed 2420-byte signature at once, so
// the table measures protection only. BENCH_MS sets the time box (default 2000).

import { mkdtempSync, rmSync, openSync, writeSync, fsyncSync, closeSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { rawMlDsa44SignAllCores } from './lib/crypto-tasks.ts';
import { coreCount, formatRate, formatRatio, renderTable } from './lib/rate.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID as chainId, type MessageKind } from '../src/preimage/index.ts';
import { PreimageSigner } from '../src/signer/validator-signer.ts';
import { createLogger } from '../src/log/logger.ts';
import { openProtectionStore, ProtectedSigner, type BatchedProtectionStore, type ProtectionStore } from '../src/protection/index.ts';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres.ts';

const durationMs = Number(process.env.BENCH_MS ?? 2000);
if (!Number.isFinite(durationMs) || durationMs < 100) {
  console.error(`BENCH_MS must be a number of milliseconds >= 100, got '${process.env.BENCH_MS}'`);
  process.exit(2);
}
const IN_FLIGHT = 256;
const SIGNATURE = new Uint8Array(2420).fill(7);
const logger = createLogger({ write: () => undefined });

/** The signer behind the protection: answers at once, so only protection is timed. */
class InstantSigner extends PreimageSigner {
  readonly validatorId: bigint;
  readonly suiteId = 100;
  constructor(validatorId: bigint) {
    super();
    this.validatorId = validatorId;
  }
  async sign(_kind: MessageKind, _preimage: Uint8Array): Promise<Uint8Array> {
    return SIGNATURE;
  }
  async close(): Promise<void> {}
}

const digest = (n: bigint): Uint8Array => {
  const b = new Uint8Array(32);
  new DataView(b.buffer).setBigUint64(24, n);
  return b;
};

/**
 * A request generator: 1 validator signs batch acks of IN_FLIGHT batch
 * authors at rising rounds (independent slots, all allowed); 1,000 validators
 * each vote at their own rising view.
 */
function workload(validators: number): { signers: (store: ProtectionStore) => ProtectedSigner[]; next: (lane: number) => [number, MessageKind, Uint8Array] } {
  const ids = Array.from({ length: validators }, (_, i) => BigInt(1 + i));
  const height = new Array<bigint>(Math.max(validators, IN_FLIGHT)).fill(0n);
  let rr = 0;
  return {
    signers: (store) => ids.map((id) => new ProtectedSigner(new InstantSigner(id), store, { chainId, logger })),
    next: (lane) => {
      if (validators === 1) {
        const round = ++height[lane]!;
        return [0, 'batch-ack', encodePreimage({ kind: 'batch-ack', chainId, ackerId: 1n, batchAuthorId: BigInt(lane), batchRound: round, batchDigest: digest(round) })];
      }
      const v = rr++ % validators;
      const view = ++height[v]!;
      return [v, 'vote', encodePreimage({ kind: 'vote', chainId, view, blockHash: digest(view), voterId: ids[v]! })];
    },
  };
}

interface Result {
  perSecond: number;
  p50ms: number;
  p99ms: number;
  avgBatch: number;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Keeps `inFlight` protected sign requests running over the given stores for the time box. */
async function run(stores: ProtectionStore[], validators: number, inFlight: number, ms: number): Promise<Result> {
  const w = workload(validators);
  const perStore = stores.map((s) => w.signers(s));
  const latencies: number[] = [];
  const stats = () => stores.reduce((a, s) => {
    const c = (s as BatchedProtectionStore).commitStats;
    return { ops: a.ops + c.ops, batches: a.batches + c.batches };
  }, { ops: 0, batches: 0 });
  let measuring = false;
  let ops = 0;
  const lane = async (laneId: number, until: number): Promise<void> => {
    const signers = perStore[laneId % stores.length]!;
    while (performance.now() < until) {
      const [v, kind, pre] = w.next(laneId);
      const t0 = performance.now();
      await signers[v]!.sign(kind, pre);
      if (measuring) {
        latencies.push(performance.now() - t0);
        ops++;
      }
    }
  };
  // Warm-up: every validator signs once (its scope exists, as in steady state), then a fifth of the time box.
  for (let done = 0; done < validators; done += IN_FLIGHT) {
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, validators - done) }, (_, i) => {
      const [v, kind, pre] = w.next(i);
      return perStore[i % stores.length]![v]!.sign(kind, pre);
    }));
  }
  await Promise.all(Array.from({ length: inFlight }, (_, i) => lane(i, performance.now() + Math.min(500, ms / 5))));
  const before = stats();
  measuring = true;
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, (_, i) => lane(i, start + ms)));
  const seconds = (performance.now() - start) / 1000;
  measuring = false;
  const after = stats();
  const sorted = Float64Array.from(latencies).sort();
  return { perSecond: ops / seconds, p50ms: quantile(sorted, 0.5), p99ms: quantile(sorted, 0.99), avgBatch: (after.ops - before.ops) / Math.max(1, after.batches - before.batches) };
}

function fsyncMicros(dir: string): number {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const times: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      writeSync(fd, Buffer.alloc(4096, i));
      const t0 = performance.now();
      fsyncSync(fd);
      times.push((performance.now() - t0) * 1000);
    }
  } finally {
    closeSync(fd);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

const dir = mkdtempSync(join(tmpdir(), 'qbind-protection-bench-'));
let cluster: PostgresCluster | null = null;
try {
  console.log(`protection benchmark: Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${coreCount()} cores; time box ${durationMs} ms per row after a warm-up`);
  console.log(`median fsync of a 4 KiB write in ${tmpdir()}: ${fsyncMicros(dir).toFixed(0)} µs`);
  process.stderr.write('  raw ML-DSA-44 sign, all cores...\n');
  const reference = (await rawMlDsa44SignAllCores(durationMs)).perSecond;
  console.log(`reference: raw all-core ML-DSA-44 sign rate ${formatRate(reference)}/s (one worker thread per core, same run)`);

  const rows: string[][] = [];
  const row = (store: string, instances: number, validators: number, inFlight: number, r: Result): void => {
    rows.push([store, String(instances), validators.toLocaleString('en-US'), String(inFlight), formatRate(r.perSecond), r.avgBatch.toFixed(0), r.p50ms.toFixed(2), r.p99ms.toFixed(2), formatRatio(r.perSecond / reference)]);
  };

  let n = 0;
  const sqlite = async (): Promise<ProtectionStore[]> => [await openProtectionStore(join(dir, `p${++n}.db`), { create: true })];
  for (const validators of [1, 1000]) {
    for (const inFlight of [1, IN_FLIGHT]) {
      process.stderr.write(`  sqlite, ${validators} validator(s), ${inFlight} in flight...\n`);
      const stores = await sqlite();
      row('sqlite', 1, validators, inFlight, await run(stores, validators, inFlight, durationMs));
      for (const s of stores) await s.close();
    }
  }

  try {
    cluster = await startPostgres();
  } catch (err) {
    console.log(`PostgreSQL rows skipped: ${(err as Error).message}`);
  }
  if (cluster) {
    for (const instances of [1, 2]) {
      for (const validators of [1, 1000]) {
        for (const inFlight of [1, IN_FLIGHT]) {
          if (inFlight === 1 && instances === 2) continue;
          process.stderr.write(`  postgres, ${instances} instance(s), ${validators} validator(s), ${inFlight} in flight...\n`);
          const url = await cluster.createDatabase(`bench_${++n}`);
          const stores: ProtectionStore[] = [await openProtectionStore(url, { create: true })];
          if (instances === 2) stores.push(await openProtectionStore(url));
          row('postgres', instances, validators, inFlight, await run(stores, validators, inFlight, durationMs));
          for (const s of stores) await s.close();
        }
      }
    }
  }

  console.log('');
  console.log(renderTable(['store', 'instances', 'validators', 'in flight', 'decisions/s', 'avg batch', 'p50 ms', 'p99 ms', 'vs ML-DSA-44 all-core sign'], rows));
  console.log('');
  console.log('decisions/s: protected sign requests completed per second (request check, durable decision, signature kept for replay');
  console.log('  and written within 100 ms, coalesced per slot). p50/p99: latency protection adds to one request at that load (in flight 1 =');
  console.log('  unloaded: about one fsync). avg batch: operations per transaction (group commit).');
  console.log('caveat: the machine may be shared with other work; rates are noisy. Compare ratios measured in the same run.');
} finally {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}
