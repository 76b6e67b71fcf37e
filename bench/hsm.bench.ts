// `npm run bench -- hsm`: signatures per second through HsmPkcs11Signer
// against a raw pkcs11js C_SignInit/C_Sign loop on the same SoftHSM2 token and
// key, measured in the same run; one at a time and with several in flight
// (one session each). Ed25519 and secp256k1 (SoftHSM2 2.6 has no ML-DSA).
// The signer's figure includes the preimage checks, the session pool, the
// thread-pool hop of C_SignAsync and (ECDSA) SHA-256 and low-S. Also shows
// the event-loop delay while signing concurrently. BENCH_MS sets the time
// box per measurement (default 1500 ms). Needs softhsm2 installed.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pkcs11js from 'pkcs11js';
import { formatRate, renderTable } from './lib/rate.ts';
import { createHsmSigner } from '../src/hsm/hsm-signer.ts';
import { Pkcs11Provider } from '../src/hsm/provider.ts';
import type { HsmKeyType } from '../src/hsm/key-types.ts';
import { createLogger } from '../src/log/logger.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../src/preimage/index.ts';
import { createSoftHsmStore } from '../test/helpers/softhsm.ts';

const durationMs = Number(process.env.BENCH_MS ?? 1500);
if (!Number.isFinite(durationMs) || durationMs < 100) {
  console.error(`BENCH_MS must be a number of milliseconds >= 100, got '${process.env.BENCH_MS}'`);
  process.exit(2);
}
const CONCURRENT = 4;
const PIN = '10293847';
const TOKEN = 'qbind-bench';
const logger = createLogger({ level: 'error' });

const store = createSoftHsmStore();
store.initToken(TOKEN, PIN);
const preimage = encodePreimage({ kind: 'vote', chainId: QBIND_DEVNET_CHAIN_ID, view: 7n, blockHash: new Uint8Array(32).fill(9), voterId: 42n });

interface Side {
  perSecond: number;
  cpuUsPerOp: number;
  lagP99Ms: number;
}
interface Row {
  key: string;
  mode: string;
  raw: Side;
  signer: Side;
}
const rows: Row[] = [];
const ROUNDS = 6;

/** Runs `lanes` loops at once for `ms`, each lane awaiting its own operation; returns ops and CPU time used. */
async function runLanes(lanes: Array<() => Promise<unknown> | unknown>, ms: number): Promise<{ ops: number; seconds: number; cpuUs: number }> {
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  await Promise.all(lanes.map(async (lane) => {
    while (performance.now() < end) {
      await lane();
      ops++;
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { ops, seconds, cpuUs: cpu.user + cpu.system };
}

/**
 * Raw and signer measured in alternating slices (ROUNDS each, after a
 * warm-up), so load from other processes on a shared machine hits both alike.
 * Also CPU time per signature (all threads of this process), which noise
 * disturbs far less than wall-clock rates.
 */
async function compare(rawLanes: Array<() => Promise<unknown> | unknown>, signerLanes: Array<() => Promise<unknown>>): Promise<{ raw: Side; signer: Side }> {
  await runLanes(rawLanes, Math.min(300, durationMs / 5));
  await runLanes(signerLanes, Math.min(300, durationMs / 5));
  const total = {
    raw: { ops: 0, seconds: 0, cpuUs: 0, lag: 0 },
    signer: { ops: 0, seconds: 0, cpuUs: 0, lag: 0 },
  };
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of ['raw', 'signer'] as const) {
      // A fresh monitor per slice: one left enabled across the other side's slice would record that slice as one long delay.
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      const r = await runLanes(side === 'raw' ? rawLanes : signerLanes, durationMs / ROUNDS);
      lag.disable();
      total[side].ops += r.ops;
      total[side].seconds += r.seconds;
      total[side].cpuUs += r.cpuUs;
      total[side].lag = Math.max(total[side].lag, lag.percentile(99) / 1e6);
    }
  }
  const side = (t: (typeof total)['raw']): Side => ({ perSecond: t.ops / t.seconds, cpuUsPerOp: t.cpuUs / t.ops, lagP99Ms: t.lag });
  return { raw: side(total.raw), signer: side(total.signer) };
}

try {
  const admin = new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, logger });
  await admin.connect();
  // The raw side: the same library (same pkcs11js instance, already initialized by the provider).
  const raw = new pkcs11js.PKCS11();
  raw.load(store.libraryPath);
  try {
    raw.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch {
    // initialized by the provider in this process: same library state
  }
  const slot = raw.C_GetSlotList(true).find((s) => raw.C_GetTokenInfo(s).label.trim() === TOKEN)!;
  const sessions = Array.from({ length: CONCURRENT }, () => raw.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));

  for (const [keyType, mechanism, sigBytes] of [['ed25519', 0x1057, 64], ['secp256k1', pkcs11js.CKM_ECDSA, 64]] as [HsmKeyType, number, number][]) {
    const label = `bench-${keyType}`;
    await admin.generateKey(keyType, label);
    raw.C_FindObjectsInit(sessions[0]!, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: label }]);
    const key = raw.C_FindObjects(sessions[0]!, 1)[0]!;
    raw.C_FindObjectsFinal(sessions[0]!);
    const input = (): Buffer => (keyType === 'ed25519' ? Buffer.from(preimage) : createHash('sha256').update(preimage).digest());
    const rawSync = (s: Buffer) => (): void => {
      raw.C_SignInit(s, { mechanism }, key);
      raw.C_Sign(s, input(), Buffer.alloc(sigBytes));
    };
    const rawAsync = async (s: Buffer): Promise<void> => {
      raw.C_SignInit(s, { mechanism }, key);
      await raw.C_SignAsync(s, input(), Buffer.alloc(sigBytes));
    };
    const configPath = join(store.dir, `${label}.toml`);
    writeFileSync(configPath, `library_path = "${store.libraryPath}"\ntoken_label = "${TOKEN}"\nkey_label = "${label}"\npin_env_var = "QBIND_HSM_PIN"\n`);
    const make = (asyncSign: boolean, n: number) => createHsmSigner({ configPath, validatorId: 42n, chainId: QBIND_DEVNET_CHAIN_ID, env: { QBIND_HSM_PIN: PIN }, logger, sessions: n, asyncSign });

    process.stderr.write(`  ${keyType}: one at a time...\n`);
    const syncSigner = await make(false, 1);
    const one = await compare([rawSync(sessions[0]!)], [() => syncSigner.signVote(preimage)]);
    rows.push({ key: keyType, mode: '1 at a time, C_Sign on the main thread', ...one });
    await syncSigner.close();
    const asyncSigner = await make(true, CONCURRENT);
    const oneAsync = await compare([() => rawAsync(sessions[0]!)], [() => asyncSigner.signVote(preimage)]);
    rows.push({ key: keyType, mode: '1 at a time, C_SignAsync (thread pool)', ...oneAsync });
    process.stderr.write(`  ${keyType}: ${CONCURRENT} in flight...\n`);
    const many = await compare(sessions.map((sess) => () => rawAsync(sess)), sessions.map(() => () => asyncSigner.signVote(preimage)));
    rows.push({ key: keyType, mode: `${CONCURRENT} in flight, ${CONCURRENT} sessions, C_SignAsync`, ...many });
    await asyncSigner.close();
  }
  for (const s of sessions) raw.C_CloseSession(s);
  await admin.close();
} finally {
  store.cleanup();
}

console.log(`HSM signing benchmark: SoftHSM2 (${store.libraryPath}), Node ${process.version}, time box ${durationMs} ms per measurement, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 4}`);
console.log('raw = pkcs11js C_SignInit + C_Sign (or C_SignAsync) on the same token and key; signer = HsmPkcs11Signer.signVote (request checks, session pool, low-S for ECDSA)');
console.log(`raw and signer alternate in ${ROUNDS} slices each; CPU = user+system time of all threads of this process per signature; lag = event-loop delay p99 (1 ms resolution), worst of the slices`);
console.log(renderTable(
  ['key', 'mode', 'raw sig/s', 'signer sig/s', 'signer/raw', 'raw CPU us/sig', 'signer CPU us/sig', 'raw lag ms', 'signer lag ms'],
  rows.map((r) => [r.key, r.mode, formatRate(r.raw.perSecond), formatRate(r.signer.perSecond), (r.signer.perSecond / r.raw.perSecond).toFixed(2), r.raw.cpuUsPerOp.toFixed(0), r.signer.cpuUsPerOp.toFixed(0), r.raw.lagP99Ms.toFixed(1), r.signer.lagP99Ms.toFixed(1)]),
));
