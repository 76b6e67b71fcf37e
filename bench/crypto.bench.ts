// `npm run bench -- crypto`: the physical reference of this machine. ML-DSA-44/65
// sign and verify per second on one core and on all cores (one worker thread per
// core, rates summed), ML-DSA-44 signing on libuv's thread pool (how
// LocalKeySigner signs), ML-KEM-768 encapsulations and decapsulations, Ed25519
// and secp256k1 signing; each beside the independent @noble JS implementation
// measured in the same run, as a ratio. BENCH_MS sets the time box per
// measurement (default 2000 ms).

import { cpus } from 'node:os';
import { cryptoTask, tasks } from './lib/crypto-tasks.ts';
import { coreCount, formatRate, formatRatio, measureAsync, measureThreads, renderTable, type RateResult } from './lib/rate.ts';
import { generateSigningKey, signAsync, suiteByName } from '../src/crypto/index.ts';
import { benchMessage } from './lib/crypto-tasks.ts';

const durationMs = Number(process.env.BENCH_MS ?? 2000);
if (!Number.isFinite(durationMs) || durationMs < 100) {
  console.error(`BENCH_MS must be a number of milliseconds >= 100, got '${process.env.BENCH_MS}'`);
  process.exit(2);
}
const cores = coreCount();
const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

interface Row {
  operation: string;
  threads: string;
  ours: RateResult;
  noble: RateResult | null;
}

const rows: Row[] = [];

async function pair(operation: string, base: string, threads: number): Promise<void> {
  const label = threads === 1 ? '1' : `${threads} (all)`;
  process.stderr.write(`  ${operation}, ${label} thread(s)...\n`);
  const ours = await measureThreads(cryptoTask(`ours:${base}`), threads, durationMs);
  const nobleName = `noble:${base}`;
  const noble = nobleName in tasks ? await measureThreads(cryptoTask(nobleName), threads, durationMs) : null;
  rows.push({ operation, threads: label, ours, noble });
}

console.log(`crypto benchmark: Node ${process.version}, OpenSSL ${process.versions.openssl}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores`);
console.log(`time box ${durationMs} ms per measurement (after a warm-up); message: a 69-byte QBIND_VOTE_V1 preimage; "all" = one worker thread per core`);
console.log('ours verifies with an imported KeyObject, noble with the raw public key (each library\'s normal use)');

for (const suite of ['ml-dsa-44', 'ml-dsa-65'] as const) {
  const name = suite.toUpperCase();
  await pair(`${name} sign`, `${suite}:sign`, 1);
  await pair(`${name} sign`, `${suite}:sign`, cores);
  await pair(`${name} verify`, `${suite}:verify`, 1);
  await pair(`${name} verify`, `${suite}:verify`, cores);
}

// LocalKeySigner's path: crypto.sign with a callback runs on libuv's pool.
process.stderr.write(`  ML-DSA-44 sign on the libuv pool...\n`);
const key = generateSigningKey(suiteByName('ml-dsa-44'));
const msg = benchMessage();
const inFlight = 2 * poolSize;
const asyncRate = await measureAsync(() => signAsync(key, msg), durationMs, inFlight);
rows.push({ operation: `ML-DSA-44 sign async (libuv pool, ${inFlight} in flight)`, threads: `${poolSize} (pool)`, ours: asyncRate, noble: null });

await pair('ML-KEM-768 encaps', 'ml-kem-768:encaps', 1);
await pair('ML-KEM-768 decaps', 'ml-kem-768:decaps', 1);
await pair('Ed25519 sign', 'ed25519:sign', 1);
await pair('secp256k1 sign', 'secp256k1:sign', 1);

console.log('');
console.log(
  renderTable(
    ['operation', 'threads', 'ours (node:crypto) ops/s', '@noble JS ops/s', 'ours / noble'],
    rows.map((r) => [r.operation, r.threads, formatRate(r.ours.perSecond), r.noble ? formatRate(r.noble.perSecond) : '-', r.noble ? formatRatio(r.ours.perSecond / r.noble.perSecond) : '-']),
  ),
);

const allCoreSign = rows.find((r) => r.operation === 'ML-DSA-44 sign' && r.threads !== '1');
const oneCoreSign = rows.find((r) => r.operation === 'ML-DSA-44 sign' && r.threads === '1');
console.log('');
if (allCoreSign && oneCoreSign) {
  console.log(`reference: raw all-core ML-DSA-44 sign rate = ${formatRate(allCoreSign.ours.perSecond)}/s (${cores} worker threads; ${formatRatio(allCoreSign.ours.perSecond / oneCoreSign.ours.perSecond)} the one-core rate)`);
  console.log(`libuv-pool signing reaches ${(100 * asyncRate.perSecond / allCoreSign.ours.perSecond).toFixed(0)}% of it`);
}
console.log('caveat: the machine may be shared; rates are noisy. Compare ratios measured in the same run.');
