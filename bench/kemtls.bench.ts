// KEMTLS benchmark: handshakes per second, and round trips per second for a
// 100-byte request with a 2.5 KB response over KEMTLS against plain TCP with
// the same length-prefixed framing, on loopback, strict ping-pong and with 16
// requests in flight. The server runs in a child process (as the remote
// signer does); the raw primitives are measured in the same run so the table
// can relate the channel's cost to them. `npm run bench -- kemtls`

import { spawn } from 'node:child_process';
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { decapsulate, encapsulate, generateKemKey, importKemPublicKey } from '../src/crypto/kem.ts';
import { generateSigningKey, signSync } from '../src/crypto/signing-key.ts';
import { suiteById, SUITE_ML_DSA_44 } from '../src/crypto/suites.ts';
import { createLogger } from '../src/log/logger.ts';
import { aeadKey, aeadOpen, aeadSeal } from '../src/kemtls/aead.ts';
import { connect, createKemtlsServer, encodeFrameHeader, FRAME_APPLICATION_DATA, FrameReader, systemEntropy, type KemtlsConnection } from '../src/kemtls/index.ts';

const REQUEST_BYTES = 100;
const RESPONSE_BYTES = 2500;
const WINDOW = 16;
const quiet = createLogger({ level: 'error' });

interface MessagePipe {
  send(m: Buffer): void;
  onMessage(fn: (m: Buffer) => void): void;
  close(): void;
}

function plainPipe(socket: Socket): MessagePipe {
  const reader = new FrameReader(1 << 20);
  let handler: (m: Buffer) => void = () => {};
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let f = reader.next(); f; f = reader.next()) handler(f.body);
  });
  let corked = false;
  return {
    // Writes of one tick leave together (cork until the next tick), as KEMTLS coalesces them.
    send: (m) => {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(Buffer.concat([encodeFrameHeader(FRAME_APPLICATION_DATA, m.length), m]));
    },
    onMessage: (fn) => (handler = fn),
    close: () => socket.destroy(),
  };
}

function kemtlsPipe(conn: KemtlsConnection): MessagePipe {
  return { send: (m) => conn.send(m), onMessage: (fn) => conn.on('message', fn), close: () => conn.close() };
}

/** Round trips per second with `window` requests in flight, for about `ms` milliseconds. */
function roundTrips(pipe: MessagePipe, window: number, ms: number): Promise<number> {
  const request = randomBytes(REQUEST_BYTES);
  return new Promise((resolve) => {
    let done = 0;
    let stopAt = 0;
    const start = performance.now();
    stopAt = start + ms;
    let inFlight = 0;
    pipe.onMessage((m) => {
      if (m.length < RESPONSE_BYTES) throw new Error('short response');
      done++;
      inFlight--;
      if (performance.now() < stopAt) {
        inFlight++;
        pipe.send(request);
      } else if (inFlight === 0) resolve(done / ((performance.now() - start) / 1000));
    });
    for (let i = 0; i < window; i++) {
      inFlight++;
      pipe.send(request);
    }
  });
}

function perSecond(fn: () => void, ms: number): number {
  fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const us = (perSec: number): string => (1e6 / perSec).toFixed(1);

async function main(): Promise<void> {
  const clientKey = generateKemKey();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', clientKey.publicKey.toString('hex')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { kemtlsPort, tcpPort, serverPublicKey: spkHex } = JSON.parse(line) as { kemtlsPort: number; tcpPort: number; serverPublicKey: string };
  const serverPublicKey = Buffer.from(spkHex, 'hex');
  const connectKemtls = () => connect({ host: '127.0.0.1', port: kemtlsPort, clientKey, serverPublicKey, logger: quiet });
  const connectTcp = () => new Promise<Socket>((resolve) => {
    const s = tcpConnect({ port: tcpPort, host: '127.0.0.1', noDelay: true }, () => resolve(s));
  });

  // Raw primitives, this run.
  const kem = generateKemKey();
  const ct = encapsulate(kem.publicKeyObject).ciphertext;
  const keyObj = aeadKey(randomBytes(32));
  const nonce = randomBytes(12);
  const aad = Buffer.alloc(5);
  const req = randomBytes(REQUEST_BYTES);
  const resp = randomBytes(RESPONSE_BYTES);
  const sealedReq = aeadSeal(keyObj, nonce, aad, req);
  const sealedResp = aeadSeal(keyObj, nonce, aad, resp);
  const dsa = generateSigningKey(suiteById(SUITE_ML_DSA_44));
  const preimage = randomBytes(150);
  const prim = {
    mlDsaSign: perSecond(() => signSync(dsa, preimage), 500),
    keygen: perSecond(() => systemEntropy.ephemeralKey(), 500),
    importPk: perSecond(() => importKemPublicKey(kem.publicKey), 500),
    encaps: perSecond(() => encapsulate(kem.publicKeyObject), 500),
    decaps: perSecond(() => decapsulate(kem.privateKey, ct), 500),
    seal100: perSecond(() => aeadSeal(keyObj, nonce, aad, req), 300),
    open100: perSecond(() => aeadOpen(keyObj, nonce, aad, sealedReq), 300),
    seal2500: perSecond(() => aeadSeal(keyObj, nonce, aad, resp), 300),
    open2500: perSecond(() => aeadOpen(keyObj, nonce, aad, sealedResp), 300),
  };
  // One handshake = client: keygen + encaps (pre-imported key) + 2 decaps; server: decaps + import pk_e + 2 encaps.
  const kemUsPerHandshake = 1e6 * (1 / prim.keygen + 3 / prim.encaps + 3 / prim.decaps + 1 / prim.importPk);
  // One round trip = seal+open of the request and of the response.
  const aeadUsPerRoundTrip = 1e6 * (1 / prim.seal100 + 1 / prim.open100 + 1 / prim.seal2500 + 1 / prim.open2500);

  // Handshakes per second: sequential, then 4 at a time.
  const handshakes = async (parallel: number, ms: number): Promise<number> => {
    let n = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (performance.now() - start < ms) {
        const c = await connectKemtls();
        c.close();
        n++;
      }
    }));
    return n / ((performance.now() - start) / 1000);
  };
  await handshakes(1, 200); // warm-up
  const hsSeq = await handshakes(1, 2000);
  const hsPar = await handshakes(4, 2000);

  // Round trips: alternate plain TCP and KEMTLS three times each, keep the median.
  const results: Record<string, number[]> = { tcp1: [], kemtls1: [], tcpW: [], kemtlsW: [] };
  for (let round = 0; round < 3; round++) {
    for (const [name, window] of [['1', 1], ['W', WINDOW]] as const) {
      const sock = await connectTcp();
      const tp = plainPipe(sock);
      results[`tcp${name}`]!.push(await roundTrips(tp, window, 1000));
      tp.close();
      const conn = await connectKemtls();
      const kp = kemtlsPipe(conn);
      results[`kemtls${name}`]!.push(await roundTrips(kp, window, 1000));
      kp.close();
    }
  }
  child.stdin!.end();

  const rows: string[][] = [
    ['measurement', 'per second', 'us each', 'note'],
    ['ML-KEM-768 ephemeral keygen (raw)', fmt(prim.keygen), us(prim.keygen), 'node:crypto'],
    ['ML-KEM-768 encapsulate (raw)', fmt(prim.encaps), us(prim.encaps), ''],
    ['ML-KEM-768 decapsulate (raw)', fmt(prim.decaps), us(prim.decaps), ''],
    ['ML-KEM-768 public key import (raw)', fmt(prim.importPk), us(prim.importPk), ''],
    ['KEM work of one handshake (sum of raw)', fmt(1e6 / kemUsPerHandshake), kemUsPerHandshake.toFixed(1), '1 keygen, 3 encaps, 3 decaps, 1 import'],
    ['KEMTLS handshakes, sequential', fmt(hsSeq), us(hsSeq), `${((1e6 / hsSeq) / kemUsPerHandshake).toFixed(2)}x the raw KEM work; includes TCP connect`],
    ['KEMTLS handshakes, 4 concurrent', fmt(hsPar), us(hsPar), 'client and server in 2 processes'],
    ['ML-DSA-44 sign, 150 B preimage (raw, for scale)', fmt(prim.mlDsaSign), us(prim.mlDsaSign), 'the work behind one remote sign request'],
    ['ChaCha20-Poly1305 seal+open 100 B + 2500 B (raw)', fmt(1e6 / aeadUsPerRoundTrip), aeadUsPerRoundTrip.toFixed(1), 'record crypto of one round trip'],
  ];
  for (const [name, label] of [['1', 'ping-pong'], ['W', `${WINDOW} in flight`]] as const) {
    const tcp = median(results[`tcp${name}`]!);
    const kt = median(results[`kemtls${name}`]!);
    rows.push([`plain TCP round trips, ${label}`, fmt(tcp), us(tcp), `runs: ${results[`tcp${name}`]!.map(fmt).join(', ')}`]);
    rows.push([`KEMTLS round trips, ${label}`, fmt(kt), us(kt), `runs: ${results[`kemtls${name}`]!.map(fmt).join(', ')}`]);
    rows.push([`  KEMTLS overhead, ${label}`, `${(((tcp - kt) / tcp) * 100).toFixed(1)}% fewer`, `+${(1e6 / kt - 1e6 / tcp).toFixed(1)}`, `goal < 10%; raw record crypto ${aeadUsPerRoundTrip.toFixed(1)} us`]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`request ${REQUEST_BYTES} B, response ${RESPONSE_BYTES} B, loopback, server in a child process; node ${process.version}`);
  for (const [i, r] of rows.entries()) {
    console.log(r.map((c, j) => (j === 0 || j === 3 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** The child process: a KEMTLS server and a plain TCP server answering every request with RESPONSE_BYTES. */
async function serve(): Promise<void> {
  const clientPublicKey = Buffer.from(process.argv[3]!, 'hex');
  const serverKey = generateKemKey();
  const response = randomBytes(RESPONSE_BYTES);
  const kemtls = createKemtlsServer({ serverKey, allowedClients: [clientPublicKey], logger: quiet, replayCacheSize: 0 });
  kemtls.on('connection', (conn) => conn.on('message', () => conn.send(response)));
  const kemtlsAddr = await kemtls.listen(0, '127.0.0.1');
  const tcp = createServer({ noDelay: true }, (socket) => {
    const reader = new FrameReader(1 << 20);
    const framed = Buffer.concat([encodeFrameHeader(FRAME_APPLICATION_DATA, RESPONSE_BYTES), response]);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      socket.cork(); // answers to one chunk leave in one write, as KEMTLS coalesces them
      while (reader.next()) socket.write(framed);
      socket.uncork();
    });
  });
  tcp.listen(0, '127.0.0.1');
  await new Promise((r) => tcp.once('listening', r));
  process.stdout.write(JSON.stringify({ kemtlsPort: kemtlsAddr.port, tcpPort: (tcp.address() as AddressInfo).port, serverPublicKey: serverKey.publicKey.toString('hex') }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}


if (process.argv[2] === '--serve') await serve();
else await main();
