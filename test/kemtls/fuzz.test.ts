// Bounded fuzzing of a live KEMTLS server (issue 5, item 4): for 12 s,
// fuzz-worker.ts throws random and mutated handshake and record bytes at it
// from 8 attacker loops while a legitimate client keeps doing round trips.
// The worker runs in its own process with --expose-gc so a crash, a hang or
// a leak shows up here: it must exit 0 in time, serve the legitimate client
// throughout, admit nothing forged, drain all state, and keep the heap flat.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FUZZ_MS = 12_000;
const HARD_LIMIT_MS = 60_000;

interface FuzzResult {
  seed: number;
  totalAttacks: number;
  attacks: Record<string, number>;
  reasons: Record<string, number>;
  forged: number;
  legitRoundTrips: number;
  freshConnections: number;
  legitFailures: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  heapSamples: number[];
  heapEnd: number;
  settled: { pendingHandshakes: number; connections: number };
}

test('random and mutated bytes at a live server: no crash, no hang, flat memory, client still served', { timeout: HARD_LIMIT_MS + 5000 }, async () => {
  const worker = fileURLToPath(new URL('./fuzz-worker.ts', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', worker, String(FUZZ_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), HARD_LIMIT_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(killer);
  assert.equal(signal, null, `worker hung and was killed; stderr:\n${stderr}`);
  assert.equal(code, 0, `worker crashed; stderr:\n${stderr}`);
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as FuzzResult;
  const context = `seed ${r.seed} (rerun: node --expose-gc test/kemtls/fuzz-worker.ts ${FUZZ_MS} ${r.seed})`;

  // The storm happened and hit every kind of failure path.
  assert.ok(r.totalAttacks >= 300, `only ${r.totalAttacks} attacks; ${context}`);
  for (const reason of ['bad_magic', 'client_hello_decrypt_failed', 'bad_record', 'frame_too_large', 'replayed_handshake']) {
    assert.ok((r.reasons[reason] ?? 0) > 0, `no ${reason} seen; ${context}`);
  }
  // Nothing forged got in; the legitimate client never failed and was not starved.
  assert.equal(r.forged, 0, context);
  assert.equal(r.legitFailures, 0, context);
  assert.ok(r.legitRoundTrips >= 200 && r.freshConnections >= 20, `legitimate client barely served (${r.legitRoundTrips} round trips, ${r.freshConnections} connections); ${context}`);
  assert.ok(r.latencyP99Ms < 500, `p99 latency ${r.latencyP99Ms} ms; ${context}`);
  assert.ok(r.latencyMaxMs < 2500, `max latency ${r.latencyMaxMs} ms; ${context}`);
  // No state left behind, heap flat (after GC) across the run and after it.
  assert.deepEqual({ pending: r.settled.pendingHandshakes, connections: r.settled.connections }, { pending: 0, connections: 0 }, context);
  // Leaking even one small object per failed connection (~2.5 KB) would add
  // more than 2 MiB over the ~1000 attacks after the first sample.
  const base = r.heapSamples[0]!;
  const peak = Math.max(...r.heapSamples) - base;
  const retained = r.heapEnd - base;
  const mib = (n: number): string => (n / 1048576).toFixed(2);
  const detail = `samples ${r.heapSamples.join(', ')}, end ${r.heapEnd}; ${context}`;
  assert.ok(peak < 4 * 1048576, `heap grew by ${mib(peak)} MiB during the storm (${detail})`);
  assert.ok(retained < 1048576, `heap retained ${mib(retained)} MiB after the storm (${detail})`);
});
