// A live KEMTLS echo server on 127.0.0.1 with one allowed client key, its
// captured log, and a check that a legitimate client is still served.

import assert from 'node:assert/strict';
import { generateKemKey, type KemKeyPair } from '../../src/crypto/kem.ts';
import { connect, createKemtlsServer, type KemtlsConnection, type KemtlsServer, type KemtlsServerOptions } from '../../src/kemtls/index.ts';
import { captureLogger, type CapturedLog } from './helpers.ts';

export interface Fixture {
  server: KemtlsServer;
  port: number;
  log: CapturedLog;
  serverKey: KemKeyPair;
  clientKey: KemKeyPair;
  /** Messages the server received, by client fingerprint. */
  received: Map<string, Buffer[]>;
  connectClient(overrides?: { clientKey?: KemKeyPair; serverPublicKey?: Uint8Array; port?: number; handshakeTimeoutMs?: number }): Promise<KemtlsConnection>;
  /** Connects the allowed client, does one echo round trip and closes; returns the round trip time in ms. */
  assertServes(): Promise<number>;
  close(): Promise<void>;
}

export async function startFixture(options: Partial<KemtlsServerOptions> = {}): Promise<Fixture> {
  const serverKey = generateKemKey();
  const clientKey = generateKemKey();
  const log = captureLogger();
  const received = new Map<string, Buffer[]>();
  const server = createKemtlsServer({ serverKey, allowedClients: [clientKey.publicKey], logger: log.logger, ...options });
  server.on('connection', (conn) => {
    conn.on('message', (m) => {
      const list = received.get(conn.peerFingerprint) ?? [];
      list.push(m);
      received.set(conn.peerFingerprint, list);
      if (!conn.closed) conn.send(Buffer.concat([Buffer.from('echo:'), m]));
    });
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const fixture: Fixture = {
    server,
    port,
    log,
    serverKey,
    clientKey,
    received,
    connectClient: (o = {}) => connect({
      host: '127.0.0.1',
      port: o.port ?? port,
      clientKey: o.clientKey ?? clientKey,
      serverPublicKey: o.serverPublicKey ?? serverKey.publicKey,
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? 5000,
      logger: log.logger,
    }),
    async assertServes() {
      const start = performance.now();
      const conn = await fixture.connectClient();
      const reply = new Promise<Buffer>((resolve) => conn.once('message', resolve));
      conn.send(Buffer.from('still served?'));
      assert.equal((await reply).toString(), 'echo:still served?');
      const ms = performance.now() - start;
      const closed = new Promise((resolve) => conn.once('close', resolve));
      conn.close();
      await closed;
      return ms;
    },
    close: () => server.close(),
  };
  return fixture;
}
