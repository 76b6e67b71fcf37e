// Keystore unlock throughput: keys unlocked per second by unlockMany (PBKDF2
// on one worker thread per core) for 1,000 keys at the default 600,000
// iterations, as a ratio to one core's raw PBKDF2 rate (measured in the same
// run) times the core count; goal >= 0.9. Also the raw alternative, async
// crypto.pbkdf2 on libuv's pool, for comparison.
// Options (node bench/keystore.bench.ts --keys N, or QBIND_BENCH_KEYS=N npm run bench -- keystore,
// as bench/index.ts passes no arguments): --keys N (default 1000), --iterations N,
// --libuv-keys N (default min(keys, 100)).

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { exportSigningKey, generateSigningKey, suiteById, SUITE_ML_DSA_44 } from '../src/crypto/index.ts';
import { DEFAULT_ITERATIONS, sealKeyFile, unlockMany } from '../src/keystore/index.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const env = process.env[`QBIND_BENCH_${name.toUpperCase().replace('-', '_')}`];
  if (i < 0 && env === undefined) return fallback;
  const v = Number(i >= 0 ? process.argv[i + 1] : env);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
  return v;
}

const keys = arg('keys', 1000);
const iterations = arg('iterations', DEFAULT_ITERATIONS);
const libuvKeys = arg('libuv-keys', Math.min(keys, 100));
const cores = availableParallelism();
const passphrase = 'bench passphrase, at least twenty characters';

// 1. One core, raw primitive (measured again after the parallel run; the mean is used,
//    which halves the bias when the machine's load drifts during the run).
const oneCoreRounds = Math.max(4, Math.min(16, Math.ceil(2e6 / iterations)));
function oneCore(): number {
  const t = performance.now();
  for (let i = 0; i < oneCoreRounds; i++) pbkdf2Sync(passphrase, randomBytes(32), iterations, 32, 'sha256');
  return (performance.now() - t) / 1000;
}
const cpuSeconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
const oneCoreBefore = oneCore();
let t0 = performance.now();

// 2. Fixture: `keys` keystores of one consensus key each. To keep setup short the
//    files share one salt and master secret; unlocking does not know or cache that.
const root = mkdtempSync(join(tmpdir(), 'qbind-ks-bench-'));
try {
  const salt = randomBytes(32);
  const master = pbkdf2Sync(passphrase, salt, iterations, 32, 'sha256');
  const suite = suiteById(SUITE_ML_DSA_44);
  const dirs: string[] = [];
  for (let i = 0; i < keys; i++) {
    const dir = join(root, `v${i}`);
    mkdirSync(dir, { mode: 0o700 });
    const pair = generateSigningKey(suite);
    const secret = exportSigningKey(pair);
    writeFileSync(join(dir, 'consensus.key'), sealKeyFile({ role: 'consensus', validatorId: BigInt(i), publicKey: pair.publicKey, privateKey: secret, encryption: { master, iterations, salt, nonce: randomBytes(12) } }), { mode: 0o600 });
    secret.fill(0);
    dirs.push(dir);
  }

  // 3. unlockMany on worker threads.
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  const opened = await unlockMany(dirs, passphrase, { profile: iterations >= DEFAULT_ITERATIONS ? 'mainnet' : 'testnet-beta', progressBar: process.stderr.isTTY });
  const workerSecs = (performance.now() - t0) / 1000;
  const workerCpu = cpuSeconds(process.cpuUsage(cpu0));
  if (opened.length !== keys) throw new Error('not every keystore opened');
  for (const k of opened) k.close();
  const workerRate = keys / workerSecs;

  // 4. Raw async crypto.pbkdf2 on libuv's pool (what a non-worker design gets).
  t0 = performance.now();
  await Promise.all(
    Array.from({ length: libuvKeys }, () => new Promise<void>((res, rej) => pbkdf2(passphrase, randomBytes(32), iterations, 32, 'sha256', (e) => (e ? rej(e) : res())))),
  );
  const libuvSecs = (performance.now() - t0) / 1000;
  const libuvRate = libuvKeys / libuvSecs;
  const oneCoreAfter = oneCore();
  const oneCoreSecs = (oneCoreBefore + oneCoreAfter) / 2;
  const oneCoreRate = oneCoreRounds / oneCoreSecs;

  const ideal = oneCoreRate * cores;
  const row = (what: string, n: number, secs: number, rate: number, ratio: string): string =>
    `| ${what.padEnd(58)} | ${String(n).padStart(5)} | ${secs.toFixed(2).padStart(7)} | ${rate.toFixed(2).padStart(7)} | ${ratio.padStart(5)} |`;
  console.log(`PBKDF2-HMAC-SHA-256, ${iterations} iterations, ${cores} cores (availableParallelism), node ${process.version}`);
  console.log(`| ${'what'.padEnd(58)} | ${'keys'.padStart(5)} | ${'seconds'.padStart(7)} | ${'keys/s'.padStart(7)} | ratio |`);
  console.log(`|${'-'.repeat(60)}|${'-'.repeat(7)}|${'-'.repeat(9)}|${'-'.repeat(9)}|${'-'.repeat(7)}|`);
  console.log(row('pbkdf2Sync on 1 core (raw primitive, mean of 2 runs)', oneCoreRounds, oneCoreSecs, oneCoreRate, '-'));
  console.log(row(`1-core rate x ${cores} cores (ideal)`, keys, keys / ideal, ideal, '1.00'));
  console.log(row(`unlockMany, ${Math.min(cores, keys)} worker threads (full unlock)`, keys, workerSecs, workerRate, (workerRate / ideal).toFixed(2)));
  console.log(row(`raw crypto.pbkdf2 on libuv pool (UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4, default'})`, libuvKeys, libuvSecs, libuvRate, (libuvRate / ideal).toFixed(2)));
  console.log(`1-core runs: ${oneCoreBefore.toFixed(2)} s before, ${oneCoreAfter.toFixed(2)} s after (${oneCoreRounds} keys each); unlockMany used ${workerCpu.toFixed(1)} CPU-seconds = ${(workerCpu / keys * 1000).toFixed(0)} ms per key vs ${(1000 / oneCoreRate).toFixed(0)} ms raw, ${(workerCpu / workerSecs).toFixed(2)} cores busy on average`);
  console.log(`goal: unlockMany ratio >= 0.90 -> ${workerRate / ideal >= 0.9 ? 'met' : 'NOT met'} (${(workerRate / ideal).toFixed(2)})`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
