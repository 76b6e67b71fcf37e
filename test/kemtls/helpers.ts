// Test helpers for the KEMTLS tests: a logger that captures lines, a TCP
// proxy on 127.0.0.1 that records (and can rewrite) the bytes each way, a
// raw client that runs the real handshake over a plain socket so a test can
// then write arbitrary frames, and small waiting utilities.

import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import type { KemKeyPair } from '../../src/crypto/kem.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { ClientHandshake, FrameReader, RecordOpener, RecordSealer, type KemtlsServer } from '../../src/kemtls/index.ts';

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  /** Parsed JSON lines. */
  entries(): Array<Record<string, unknown>>;
}

export function captureLogger(): CapturedLog {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => lines.push(line) });
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the server has a log entry with this reason and no pending handshake or connection is left. */
export async function waitForReason(log: CapturedLog, reason: string, server?: KemtlsServer, timeoutMs = 5000): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitFor(`log reason ${reason}`, () => (found = log.entries().find((e) => e.reason === reason)) !== undefined, timeoutMs);
  if (server) await waitFor('server to drop the connection', () => server.stats.pendingHandshakes === 0 && server.stats.connections === 0, timeoutMs);
  return found!;
}

export type Rewrite = (chunk: Buffer, streamOffset: number) => Buffer;

export interface RecordingProxy {
  port: number;
  upstream(): Buffer;
  downstream(): Buffer;
  close(): Promise<void>;
}

/** A one-hop TCP proxy to 127.0.0.1:targetPort recording client->server (up) and server->client (down) bytes. */
export async function startRecordingProxy(targetPort: number, rewrite: { up?: Rewrite; down?: Rewrite } = {}): Promise<RecordingProxy> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const target = tcpConnect(targetPort, '127.0.0.1');
    sockets.add(client).add(target);
    let upOffset = 0;
    let downOffset = 0;
    client.on('data', (c: Buffer) => {
      const out = rewrite.up ? rewrite.up(c, upOffset) : c;
      upOffset += c.length;
      up.push(out);
      target.write(out);
    });
    target.on('data', (c: Buffer) => {
      const out = rewrite.down ? rewrite.down(c, downOffset) : c;
      downOffset += c.length;
      down.push(out);
      client.write(out);
    });
    const end = (): void => {
      client.destroy();
      target.destroy();
    };
    for (const s of [client, target]) {
      s.on('error', end);
      s.on('close', end);
      s.on('close', () => sockets.delete(s));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    upstream: () => Buffer.concat(up),
    downstream: () => Buffer.concat(down),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Flips one bit at absolute stream offset `at`. */
export function flipAt(at: number): Rewrite {
  return (chunk, offset) => {
    if (at < offset || at >= offset + chunk.length) return chunk;
    const out = Buffer.from(chunk);
    out[at - offset]! ^= 0x01;
    return out;
  };
}

export interface RawClient {
  socket: Socket;
  sealer: RecordSealer;
  opener: RecordOpener;
  reader: FrameReader;
  /** Every byte the server sent after the ServerHello. */
  received: Buffer[];
  closed: Promise<void>;
}

/** Runs the real client handshake over a plain socket, then hands the socket to the test. */
export async function rawClient(port: number, clientKey: KemKeyPair, serverPublicKey: Uint8Array): Promise<RawClient> {
  const socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = once(socket, 'close').then(() => undefined);
  await once(socket, 'connect');
  const hs = new ClientHandshake({ clientKey, serverPublicKey });
  socket.write(hs.start());
  const reader = new FrameReader(1 << 20);
  const received: Buffer[] = [];
  let cf: Buffer | null = null;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      if (cf) {
        received.push(chunk);
        return;
      }
      reader.push(chunk);
      const frame = reader.next();
      if (!frame) return;
      try {
        cf = hs.finish(frame.bytes);
        socket.write(cf);
        resolve();
      } catch (err) {
        reject(err as Error);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during raw handshake')));
  });
  return { socket, sealer: new RecordSealer(hs.keys.clientToServer), opener: new RecordOpener(hs.keys.serverToClient), reader, received, closed };
}

/** Sends raw bytes on a fresh socket and resolves with everything received until the server closes it. */
export async function sendRaw(port: number, bytes: Buffer[], options: { gapMs?: number } = {}): Promise<{ received: Buffer; closedAfterMs: number }> {
  const socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  const start = Date.now();
  for (const b of bytes) {
    if (socket.destroyed) break;
    socket.write(b);
    if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
  }
  await closed;
  return { received: Buffer.concat(chunks), closedAfterMs: Date.now() - start };
}
