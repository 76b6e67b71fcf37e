// The KEMTLS channel working as intended over real TCP on 127.0.0.1: mutual
// identification, messages both ways (empty, largest, pipelined, before a
// listener is attached), several clients, clean close from either side,
// the allow list as a predicate, option checks, and a daemon that sniffs the
// first bytes and hands KEMTLS sockets to acceptSocket().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { generateKemKey } from '../../src/crypto/kem.ts';
import { publicKeyFingerprint } from '../../src/crypto/fingerprint.ts';
import { isQbindError } from '../../src/errors.ts';
import {
  ClientHandshake, connect, createKemtlsServer, DEFAULT_MAX_FRAME_BYTES, KemtlsError, looksLikeKemtls, type KemtlsConnection,
} from '../../src/kemtls/index.ts';
import { captureLogger, startRecordingProxy, waitFor } from './helpers.ts';
import { startFixture } from './fixture.ts';

const rejectsWith = (p: Promise<unknown>, code: string): Promise<void> =>
  assert.rejects(p, (err: unknown) => isQbindError(err, code));

test('both sides learn who the other is and exchange messages both ways', async () => {
  const f = await startFixture();
  try {
    const serverSide = new Promise<KemtlsConnection>((resolve) => f.server.once('connection', resolve));
    const conn = await f.connectClient();
    const peer = await serverSide;
    assert.ok(peer.peerPublicKey.equals(f.clientKey.publicKey));
    assert.equal(peer.peerFingerprint, publicKeyFingerprint(f.clientKey.publicKey));
    assert.ok(conn.peerPublicKey.equals(f.serverKey.publicKey));
    assert.equal(conn.peerFingerprint, publicKeyFingerprint(f.serverKey.publicKey));
    assert.equal(peer.role, 'server');
    assert.equal(conn.role, 'client');

    const replies: Buffer[] = [];
    conn.on('message', (m) => replies.push(m));
    const max = Buffer.alloc(conn.maxMessageBytes - 5, 0xab); // the echo adds 5 bytes
    for (const m of [Buffer.from('hello signer'), Buffer.alloc(0), max]) conn.send(m);
    await waitFor('three echoes', () => replies.length === 3);
    assert.equal(replies[0]!.toString(), 'echo:hello signer');
    assert.equal(replies[1]!.toString(), 'echo:');
    assert.ok(replies[2]!.subarray(5).equals(max));
    assert.equal(conn.maxMessageBytes, DEFAULT_MAX_FRAME_BYTES - 16 - 4);

    // Too large is refused locally and the connection stays usable.
    assert.throws(() => conn.send(Buffer.alloc(conn.maxMessageBytes + 1)), (e: unknown) => isQbindError(e, 'MESSAGE_TOO_LARGE'));
    conn.send(Buffer.from('after'));
    await waitFor('echo after refusal', () => replies.length === 4);
    assert.equal(replies[3]!.toString(), 'echo:after');

    // Server-initiated message.
    const pushed = new Promise<Buffer>((resolve) => conn.once('message', resolve));
    peer.send(Buffer.from('unsolicited'));
    assert.equal((await pushed).toString(), 'unsolicited');

    const closes: Array<KemtlsError | null> = [];
    peer.once('close', (r) => closes.push(r));
    conn.once('close', (r) => closes.push(r));
    conn.close();
    await waitFor('both closes', () => closes.length === 2);
    assert.deepEqual(closes, [null, null], 'clean close_notify on both sides');
    assert.throws(() => conn.send(Buffer.from('x')), (e: unknown) => isQbindError(e, 'CONNECTION_CLOSED'));
    await waitFor('server state cleared', () => f.server.stats.connections === 0);
  } finally {
    await f.close();
  }
});

test('pipelined messages arrive complete and in order, both directions at once', async () => {
  const f = await startFixture();
  try {
    const serverSide = new Promise<KemtlsConnection>((resolve) => f.server.once('connection', resolve));
    const conn = await f.connectClient();
    const peer = await serverSide;
    const N = 400;
    const fromServer: Buffer[] = [];
    const echoes: Buffer[] = [];
    conn.on('message', (m) => (m.subarray(0, 5).toString() === 'echo:' ? echoes : fromServer).push(m));
    const sizes = Array.from({ length: N }, (_, i) => (i * 37) % 3000);
    for (let i = 0; i < N; i++) {
      const m = Buffer.alloc(4 + sizes[i]!, i & 0xff);
      m.writeUInt32BE(i, 0);
      conn.send(m);
      if (i % 2 === 0) peer.send(Buffer.from(`push ${i}`));
    }
    await waitFor('all echoes and pushes', () => echoes.length === N && fromServer.length === N / 2, 10_000);
    echoes.forEach((e, i) => {
      assert.equal(e.readUInt32BE(5), i, 'order');
      assert.equal(e.length, 5 + 4 + sizes[i]!, 'size');
    });
    fromServer.forEach((m, k) => assert.equal(m.toString(), `push ${2 * k}`));
    conn.close();
  } finally {
    await f.close();
  }
});

test('messages sent in one tick share records of at most 16 KiB; each still arrives on its own', async () => {
  const f = await startFixture();
  const proxy = await startRecordingProxy(f.port);
  try {
    const conn = await f.connectClient({ port: proxy.port });
    const echoes: Buffer[] = [];
    conn.on('message', (m) => echoes.push(m));
    for (let i = 0; i < 300; i++) conn.send(Buffer.alloc(100, i)); // 300 x (4 + 100) bytes: 2 records
    await waitFor('300 echoes', () => echoes.length === 300);
    echoes.forEach((e, i) => assert.ok(e.equals(Buffer.concat([Buffer.from('echo:'), Buffer.alloc(100, i)]))));
    const up = proxy.upstream().subarray(3515 + 37);
    const sizes: number[] = [];
    for (let o = 0; o < up.length; o += 5 + up.readUInt32BE(o + 1)) sizes.push(up.readUInt32BE(o + 1));
    assert.equal(sizes.length, 2, `records: ${sizes.join(', ')}`);
    assert.ok(sizes.every((n) => n <= 16 * 1024 + 16));
    assert.equal(sizes.reduce((a, n) => a + n - 16, 0), 300 * 104);
    conn.close();
  } finally {
    await proxy.close();
    await f.close();
  }
});

test('messages sent before the server attaches a listener are queued, not lost', async () => {
  const serverKey = generateKemKey();
  const clientKey = generateKemKey();
  const log = captureLogger();
  const server = createKemtlsServer({ serverKey, allowedClients: [clientKey.publicKey], logger: log.logger });
  const got: Buffer[] = [];
  server.on('connection', (conn) => {
    setTimeout(() => conn.on('message', (m) => got.push(m)), 100);
  });
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    const conn = await connect({ host: '127.0.0.1', port, clientKey, serverPublicKey: serverKey.publicKey, logger: log.logger });
    for (let i = 0; i < 100; i++) conn.send(Buffer.from(`m${i}`));
    await waitFor('queued messages', () => got.length === 100);
    assert.deepEqual(got.map(String), Array.from({ length: 100 }, (_, i) => `m${i}`));
    conn.close();
  } finally {
    await server.close();
  }
});

test('several clients at once are each identified by their own key', async () => {
  const serverKey = generateKemKey();
  const clients = [generateKemKey(), generateKemKey(), generateKemKey()];
  const log = captureLogger();
  const server = createKemtlsServer({ serverKey, allowedClients: clients.map((c) => c.publicKey), logger: log.logger });
  server.on('connection', (conn) => conn.on('message', () => conn.send(Buffer.from(conn.peerFingerprint))));
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    const conns = await Promise.all(clients.map((clientKey) => connect({ host: '127.0.0.1', port, clientKey, serverPublicKey: serverKey.publicKey, logger: log.logger })));
    const answers = await Promise.all(conns.map((c) => {
      const p = new Promise<Buffer>((resolve) => c.once('message', resolve));
      c.send(Buffer.from('who am I?'));
      return p;
    }));
    assert.deepEqual(answers.map(String), clients.map((c) => publicKeyFingerprint(c.publicKey)));
    assert.equal(server.stats.connections, 3);
    // Server shutdown closes every connection cleanly.
    const reasons = conns.map((c) => new Promise((resolve) => c.once('close', resolve)));
    await server.close();
    assert.deepEqual(await Promise.all(reasons), [null, null, null]);
    assert.deepEqual(server.stats, { pendingHandshakes: 0, connections: 0, replayCacheEntries: 3 });
  } finally {
    await server.close();
  }
});

test('allow list as a predicate; a throwing predicate refuses (fail closed)', async () => {
  const serverKey = generateKemKey();
  const good = generateKemKey();
  const bad = generateKemKey();
  const log = captureLogger();
  const server = createKemtlsServer({
    serverKey,
    allowedClients: (pk) => {
      if (Buffer.from(pk).equals(bad.publicKey)) throw new Error('policy store down');
      return Buffer.from(pk).equals(good.publicKey);
    },
    logger: log.logger,
  });
  server.on('connection', (c) => c.on('message', (m) => c.send(m)));
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    const conn = await connect({ host: '127.0.0.1', port, clientKey: good, serverPublicKey: serverKey.publicKey, logger: log.logger });
    conn.close();
    await rejectsWith(connect({ host: '127.0.0.1', port, clientKey: bad, serverPublicKey: serverKey.publicKey, logger: log.logger }), 'HANDSHAKE_REJECTED');
    const fp = publicKeyFingerprint(bad.publicKey);
    await waitFor('unknown_client logged with the client fingerprint', () => log.entries().some((e) => e.reason === 'unknown_client' && String(e.detail).includes(fp)));
  } finally {
    await server.close();
  }
});

test('bad options are refused with BAD_OPTIONS before any connection', async () => {
  const k = generateKemKey();
  await rejectsWith(connect({ host: '127.0.0.1', port: 1, clientKey: k, serverPublicKey: new Uint8Array(32) }), 'BAD_OPTIONS');
  await rejectsWith(connect({ host: '127.0.0.1', port: 0, clientKey: k, serverPublicKey: k.publicKey }), 'BAD_OPTIONS');
  await rejectsWith(connect({ host: '127.0.0.1', port: 9, clientKey: k, serverPublicKey: k.publicKey, maxFrameBytes: 3 }), 'BAD_OPTIONS');
  await rejectsWith(connect({ host: '127.0.0.1', port: 9, clientKey: k, serverPublicKey: Buffer.alloc(1184, 0xff) }), 'BAD_OPTIONS');
  assert.throws(() => createKemtlsServer({ serverKey: k, allowedClients: [new Uint8Array(1183)] }), (e: unknown) => isQbindError(e, 'BAD_OPTIONS'));
  assert.throws(() => createKemtlsServer({ serverKey: k, allowedClients: [], handshakeTimeoutMs: -1 }), (e: unknown) => isQbindError(e, 'BAD_OPTIONS'));
  assert.throws(() => new ClientHandshake({ clientKey: k, serverPublicKey: new Uint8Array(10) }), (e: unknown) => e instanceof KemtlsError && e.code === 'BAD_OPTIONS');
  const first = createKemtlsServer({ serverKey: k, allowedClients: [] });
  const { port } = await first.listen(0, '127.0.0.1');
  await rejectsWith(createKemtlsServer({ serverKey: k, allowedClients: [] }).listen(port, '127.0.0.1'), 'LISTEN_FAILED');
  await rejectsWith(first.listen(0, '127.0.0.1'), 'BAD_OPTIONS');
  await first.close();
});

test('a daemon sniffing the first bytes serves HTTP and hands KEMTLS sockets to acceptSocket', async () => {
  const f = await startFixture();
  const daemon = createServer((socket) => {
    socket.once('readable', function sniff() {
      const head = socket.read(4) as Buffer | null;
      if (!head) {
        socket.once('readable', sniff);
        return;
      }
      if (head.toString('latin1') === 'GET ') {
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n');
        socket.resume(); // drain the rest of the request so the socket can close
      } else {
        f.server.acceptSocket(socket, head);
      }
    });
  });
  daemon.listen(0, '127.0.0.1');
  await once(daemon, 'listening');
  const port = (daemon.address() as AddressInfo).port;
  try {
    // The ClientHello's first bytes never look like an HTTP method or TLS.
    const hello = new ClientHandshake({ clientKey: f.clientKey, serverPublicKey: f.serverKey.publicKey }).start();
    assert.ok(looksLikeKemtls(hello));
    for (const text of ['GET ', 'HEAD', 'POST', 'PUT ', '\x16\x03\x01\x00']) assert.ok(!looksLikeKemtls(Buffer.from(text, 'latin1')), text);
    assert.notEqual(hello.subarray(0, 4).toString('latin1'), 'GET ');

    const conn = await f.connectClient({ port });
    const reply = new Promise<Buffer>((resolve) => conn.once('message', resolve));
    conn.send(Buffer.from('via daemon'));
    assert.equal((await reply).toString(), 'echo:via daemon');
    conn.close();

    const http = tcpConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    http.on('data', (c: Buffer) => chunks.push(c));
    http.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(http, 'close');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 200 OK[\s\S]*ok\n$/);
  } finally {
    await new Promise<void>((r) => daemon.close(() => r()));
    await f.close();
  }
});
