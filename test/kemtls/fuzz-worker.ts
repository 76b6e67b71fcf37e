// Child process of fuzz.test.ts (run with --expose-gc): a live KEMTLS server
// on 127.0.0.1 under a bounded-time storm of random and mutated handshake
// and record bytes from several attacker loops, while a legitimate client
// keeps doing round trips (on one long connection and on fresh ones).
// Prints one JSON line of measurements; any uncaught error kills the process.
// Usage: fuzz-worker.ts <durationMs> [seed]

import { connect as tcpConnect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateKemKey } from '../../src/crypto/kem.ts';
import { createLogger } from '../../src/log/logger.ts';
import {
  ClientHandshake, connect, createKemtlsServer, encodePreamble, FRAME_APPLICATION_DATA, FRAME_CLOSE_NOTIFY, FrameReader, packMessages, RecordSealer,
  type KemtlsConnection,
} from '../../src/kemtls/index.ts';

const durationMs = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? Math.floor(Math.random() * 2 ** 31));

// xorshift32: reproducible attack choices from the printed seed.
let state = seed || 1;
function rnd(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}
const int = (n: number): number => Math.floor(rnd() * n);
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));

function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (int(5)) {
    case 0: { // flip a few bits
      for (let i = 0, n = 1 + int(8); i < n; i++) out[int(out.length)]! ^= 1 << int(8);
      return out;
    }
    case 1: return out.subarray(0, int(out.length)); // truncate
    case 2: return Buffer.concat([out, bytes(int(3000))]); // extend
    case 3: { // overwrite a length field region with random bytes
      const at = int(Math.max(1, out.length - 4));
      bytes(4).copy(out, at);
      return out;
    }
    default: { // splice a random slice elsewhere
      const a = int(out.length);
      const len = int(Math.min(200, out.length - a));
      return Buffer.concat([out.subarray(0, a), bytes(len), out.subarray(a)]);
    }
  }
}

const serverKey = generateKemKey();
const clientKey = generateKemKey();
const reasons: Record<string, number> = {};
let logLines = 0;
const logger = createLogger({
  level: 'info',
  format: 'json',
  write: (line) => {
    logLines++;
    const r = (JSON.parse(line) as { reason?: string }).reason;
    if (r) reasons[r] = (reasons[r] ?? 0) + 1;
  },
});
const server = createKemtlsServer({ serverKey, allowedClients: [clientKey.publicKey], logger, handshakeTimeoutMs: 1000, replayCacheSize: 1000 });
let forged = 0;
server.on('connection', (conn) => {
  if (!conn.peerPublicKey.equals(clientKey.publicKey)) forged++;
  conn.on('message', (m) => {
    if (!conn.closed) conn.send(Buffer.concat([m, Buffer.alloc(2400, 7)]));
  });
});
const { port } = await server.listen(0, '127.0.0.1');

/** A recorded legitimate ClientHello + ClientFinished, for replays. */
let recorded: Buffer | null = null;

function open(): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.on('error', () => resolve(null));
    s.once('connect', () => resolve(s));
  });
}

function closeAfter(s: Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.destroy();
      resolve();
    }, ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Completes a real handshake on a raw socket and returns it with the client's record sealer. */
async function handshaken(): Promise<{ s: Socket; sealer: RecordSealer } | null> {
  const s = await open();
  if (!s) return null;
  s.on('data', () => {});
  const hs = new ClientHandshake({ clientKey, serverPublicKey: serverKey.publicKey });
  const hello = hs.start();
  s.write(hello);
  const reader = new FrameReader(4096);
  return new Promise((resolve) => {
    s.removeAllListeners('data');
    s.on('data', (c: Buffer) => {
      reader.push(c);
      let frame;
      try {
        frame = reader.next();
        if (!frame) return;
        const cf = hs.finish(frame.bytes);
        s.write(cf);
        if (!recorded) recorded = Buffer.concat([hello, cf]);
        s.removeAllListeners('data');
        s.on('data', () => {});
        resolve({ s, sealer: new RecordSealer(hs.keys.clientToServer) });
      } catch {
        s.destroy();
        resolve(null);
      }
    });
    s.once('close', () => resolve(null));
  });
}

const attacks: Record<string, () => Promise<void>> = {
  async randomBytes() {
    const s = await open();
    if (!s) return;
    for (let i = 0, n = 1 + int(4); i < n && !s.destroyed; i++) s.write(bytes(int(5000)));
    await closeAfter(s, 50 + int(150));
  },
  async preambleThenRandom() {
    const s = await open();
    if (!s) return;
    s.write(Buffer.concat([encodePreamble(int(4) === 0 ? int(65536) : 1), bytes(int(6000))]));
    await closeAfter(s, 50 + int(150));
  },
  async mutatedClientHello() {
    const s = await open();
    if (!s) return;
    const hello = new ClientHandshake({ clientKey: int(3) === 0 ? generateKemKey() : clientKey, serverPublicKey: serverKey.publicKey }).start();
    const m = mutate(hello);
    // Random chunking exercises frame reassembly.
    for (let at = 0; at < m.length && !s.destroyed;) {
      const n = 1 + int(1500);
      s.write(m.subarray(at, at + n));
      at += n;
    }
    await closeAfter(s, 50 + int(200));
  },
  async badRecords() {
    const h = await handshaken();
    if (!h) return;
    const { s, sealer } = h;
    const valid = (): Buffer => sealer.seal(FRAME_APPLICATION_DATA, packMessages([bytes(int(300))], 16384)[0]!);
    const kind = int(6);
    if (kind === 0) s.write(mutate(valid()));
    else if (kind === 1) s.write(Buffer.concat([Buffer.from([int(256)]), bytes(4), bytes(int(2000))])); // random frame header
    else if (kind === 2) {
      const a = valid();
      const b = valid();
      s.write(Buffer.concat(int(2) ? [b, a] : [a, a])); // reorder or replay
    } else if (kind === 3) s.write(sealer.seal(FRAME_CLOSE_NOTIFY, bytes(1 + int(20)))); // close_notify with data
    else if (kind === 4) s.write(sealer.seal(FRAME_APPLICATION_DATA, bytes(int(300)))); // authentic, badly packed
    else s.write(bytes(int(4000)));
    await closeAfter(s, 50 + int(150));
  },
  async abortMidway() {
    const s = await open();
    if (!s) return;
    const hello = new ClientHandshake({ clientKey, serverPublicKey: serverKey.publicKey }).start();
    s.write(hello.subarray(0, int(hello.length)));
    if (int(2)) s.resetAndDestroy();
    else s.destroy();
  },
  async replay() {
    if (!recorded) return;
    const s = await open();
    if (!s) return;
    s.on('data', () => {});
    s.write(int(2) ? recorded : mutate(recorded));
    await closeAfter(s, 100 + int(100));
  },
};
const attackNames = Object.keys(attacks);
const attackCounts: Record<string, number> = {};

// The legitimate client: one long-lived connection doing request/response, plus fresh connections.
const latencies: number[] = [];
let legitFailures = 0;
let freshConnections = 0;
let stopping = false;

function roundTrip(conn: KemtlsConnection, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('round trip timed out')), 3000);
    conn.once('message', (m) => {
      clearTimeout(t);
      resolve(m);
    });
    conn.send(payload);
  });
}

async function legitLoop(): Promise<void> {
  const conn = await connect({ host: '127.0.0.1', port, clientKey, serverPublicKey: serverKey.publicKey, logger });
  let i = 0;
  while (!stopping) {
    const payload = Buffer.alloc(100, i++ & 0xff);
    const t0 = performance.now();
    try {
      const reply = await roundTrip(conn, payload);
      if (!reply.subarray(0, 100).equals(payload) || reply.length !== 2500) legitFailures++;
      latencies.push(performance.now() - t0);
    } catch {
      legitFailures++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  conn.close();
}

async function freshLoop(): Promise<void> {
  while (!stopping) {
    const t0 = performance.now();
    try {
      const conn = await connect({ host: '127.0.0.1', port, clientKey, serverPublicKey: serverKey.publicKey, logger, handshakeTimeoutMs: 5000 });
      await roundTrip(conn, Buffer.from('fresh'));
      conn.close();
      freshConnections++;
      latencies.push(performance.now() - t0);
    } catch {
      legitFailures++;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function attackerLoop(): Promise<void> {
  while (!stopping) {
    const name = attackNames[int(attackNames.length)]!;
    attackCounts[name] = (attackCounts[name] ?? 0) + 1;
    await attacks[name]!();
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const heapAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const loops = [legitLoop(), freshLoop(), ...Array.from({ length: 8 }, () => attackerLoop())];
const warmupMs = Math.min(2000, durationMs / 4);
await new Promise((r) => setTimeout(r, warmupMs));
const heapSamples: number[] = [heapAfterGc()];
const sampleEvery = (durationMs - warmupMs) / 4;
for (let i = 0; i < 4; i++) {
  await new Promise((r) => setTimeout(r, sampleEvery));
  heapSamples.push(heapAfterGc());
}
stopping = true;
await Promise.all(loops);
loopDelay.disable();
// Everything the attackers left must drain (handshake timeout 1 s, alert linger 1 s).
const settleStart = Date.now();
while ((server.stats.pendingHandshakes > 0 || server.stats.connections > 0) && Date.now() - settleStart < 5000) await new Promise((r) => setTimeout(r, 50));
const settled = server.stats;
await server.close();
const heapEnd = heapAfterGc();
latencies.sort((a, b) => a - b);
const result = {
  seed,
  durationMs,
  attacks: attackCounts,
  totalAttacks: Object.values(attackCounts).reduce((a, b) => a + b, 0),
  reasons,
  logLines,
  forged,
  legitRoundTrips: latencies.length,
  freshConnections,
  legitFailures,
  latencyP50Ms: latencies[Math.floor(latencies.length / 2)] ?? -1,
  latencyP99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? -1,
  latencyMaxMs: latencies[latencies.length - 1] ?? -1,
  eventLoopDelayMaxMs: loopDelay.max / 1e6,
  heapSamples,
  heapEnd,
  settled,
};
process.stdout.write(JSON.stringify(result) + '\n');
