// Every way a KEMTLS connection must fail (issue 5, item 2), over real TCP:
// wrong server key, unknown client, tampered handshake messages, tampered,
// reordered, replayed and dropped records, replayed handshakes, oversized
// frames, slow and half-open handshakes, version mismatch, non-KEMTLS bytes,
// connection limits. Each ends that connection with the logged reason, leaves
// no server state behind, and a legitimate client is served afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { generateKemKey } from '../../src/crypto/kem.ts';
import { publicKeyFingerprint } from '../../src/crypto/fingerprint.ts';
import { isQbindError } from '../../src/errors.ts';
import {
  ALERT_HANDSHAKE_FAILED, ALERT_SERVER_BUSY, ALERT_VERSION_MISMATCH, ClientHandshake, connect, encodeAlert, encodeFrame, encodePreamble,
  FRAME_APPLICATION_DATA, FRAME_CLIENT_HELLO, packMessages, type KemtlsConnection, type KemtlsError, type RecordSealer,
} from '../../src/kemtls/index.ts';
import { flipAt, rawClient, sendRaw, startRecordingProxy, waitFor, waitForReason } from './helpers.ts';
import { startFixture, type Fixture } from './fixture.ts';

const rejectsWith = (p: Promise<unknown>, code: string): Promise<void> =>
  assert.rejects(p, (err: unknown) => isQbindError(err, code));

async function withFixture(fn: (f: Fixture) => Promise<void>, options: Parameters<typeof startFixture>[0] = {}): Promise<void> {
  const f = await startFixture(options);
  try {
    await fn(f);
    await f.assertServes();
  } finally {
    await f.close();
  }
}

/** ClientHello bytes (preamble included) for a fresh handshake. */
function clientHello(f: Fixture): Buffer {
  return new ClientHandshake({ clientKey: f.clientKey, serverPublicKey: f.serverKey.publicKey }).start();
}

test('client holding the wrong server key: server cannot decrypt, client is told the handshake failed', () => withFixture(async (f) => {
  const impostorKey = generateKemKey();
  await rejectsWith(f.connectClient({ serverPublicKey: impostorKey.publicKey }), 'HANDSHAKE_REJECTED');
  await waitForReason(f.log, 'client_hello_decrypt_failed', f.server);
}));

test('server that does not hold the expected key is refused by the client (no connection)', async () => {
  // A real server with another key that would even accept our client: it cannot decapsulate ct_S.
  const client = generateKemKey();
  const expected = generateKemKey();
  const f = await startFixture({ allowedClients: [client.publicKey] });
  try {
    await rejectsWith(connect({ host: '127.0.0.1', port: f.port, clientKey: client, serverPublicKey: expected.publicKey, logger: f.log.logger }), 'HANDSHAKE_REJECTED');
    await waitForReason(f.log, 'client_hello_decrypt_failed', f.server);
  } finally {
    await f.close();
  }
});

test('unknown client key: refused, logged with its fingerprint', () => withFixture(async (f) => {
  const stranger = generateKemKey();
  await rejectsWith(f.connectClient({ clientKey: stranger }), 'HANDSHAKE_REJECTED');
  const entry = await waitForReason(f.log, 'unknown_client', f.server);
  assert.match(String(entry.detail), new RegExp(publicKeyFingerprint(stranger.publicKey)));
}));

test('tampered ServerHello: client detects it (bad_server_hello / bad_server_finished) and never connects', () => withFixture(async (f) => {
  // ServerHello offsets: 5 header, 32 server_random, 1088 ct_e, 1104 enc_ct_C, 32 server_finished.
  for (const [offset, code] of [[10, 'BAD_SERVER_HELLO'], [100, 'BAD_SERVER_HELLO'], [1500, 'BAD_SERVER_HELLO'], [2240, 'BAD_SERVER_FINISHED']] as const) {
    const proxy = await startRecordingProxy(f.port, { down: flipAt(offset) });
    try {
      await rejectsWith(f.connectClient({ port: proxy.port }), code);
    } finally {
      await proxy.close();
    }
  }
  await waitFor('server dropped the half-done handshakes', () => f.server.stats.pendingHandshakes === 0);
  assert.equal(f.received.size, 0, 'no application data reached the server');
}));

test('tampered ClientHello or ClientFinished: server refuses with the reason', () => withFixture(async (f) => {
  // ClientHello offsets: 6 preamble, 5 header, 32 random, 1088 ct_S, 1184 pk_e, 1200 enc_identity; then ClientFinished.
  for (const [offset, reason] of [[20, 'client_hello_decrypt_failed'], [500, 'client_hello_decrypt_failed'], [2000, 'client_hello_decrypt_failed'], [3000, 'client_hello_decrypt_failed'], [3515 + 10, 'bad_client_finished']] as const) {
    const proxy = await startRecordingProxy(f.port, { up: flipAt(offset) });
    const before = f.log.entries().filter((e) => e.reason === reason).length;
    try {
      const attempt = f.connectClient({ port: proxy.port }).then(
        (conn) => new Promise<KemtlsError | null>((resolve) => conn.once('close', resolve)),
        (err: KemtlsError) => err,
      );
      const outcome = await attempt;
      assert.ok(outcome !== null, `offset ${offset}: must fail`);
      await waitFor(`reason ${reason}`, () => f.log.entries().filter((e) => e.reason === reason).length > before);
    } finally {
      await proxy.close();
    }
  }
  await waitFor('no leftover state', () => f.server.stats.pendingHandshakes === 0 && f.server.stats.connections === 0);
  assert.equal(f.received.size, 0);
}));

/** One application_data record carrying `text`, as a legitimate sender would build it. */
const record = (sealer: RecordSealer, text: string): Buffer => sealer.seal(FRAME_APPLICATION_DATA, packMessages([Buffer.from(text)], 16384)[0]!);

async function recordAttack(f: Fixture, attack: (raw: Awaited<ReturnType<typeof rawClient>>) => void, expectDelivered: string[], reason = 'bad_record'): Promise<void> {
  const before = f.log.entries().filter((e) => e.reason === reason).length;
  const raw = await rawClient(f.port, f.clientKey, f.serverKey.publicKey);
  attack(raw);
  await raw.closed;
  await waitFor(`${reason} logged`, () => f.log.entries().filter((e) => e.reason === reason).length === before + 1);
  await waitFor('connection dropped', () => f.server.stats.connections === 0);
  const got = (f.received.get(publicKeyFingerprint(f.clientKey.publicKey)) ?? []).map(String);
  assert.deepEqual(got, expectDelivered);
  f.received.clear();
}

test('tampered, reordered, replayed and dropped records end the connection; nothing forged is delivered', () => withFixture(async (f) => {
  await recordAttack(f, (raw) => {
    const r = record(raw.sealer, 'sign this');
    r[r.length - 20]! ^= 0x80; // ciphertext bit
    raw.socket.write(r);
  }, []);
  await recordAttack(f, (raw) => {
    const r = record(raw.sealer, 'sign this');
    r[0] = 0x18; // record type is authenticated (AAD)
    raw.socket.write(r);
  }, []);
  await recordAttack(f, (raw) => {
    const r0 = record(raw.sealer, 'first');
    const r1 = record(raw.sealer, 'second');
    raw.socket.write(Buffer.concat([r1, r0])); // reordered
  }, []);
  await recordAttack(f, (raw) => {
    const r0 = record(raw.sealer, 'once');
    raw.socket.write(Buffer.concat([r0, r0])); // replayed
  }, ['once']);
  await recordAttack(f, (raw) => {
    record(raw.sealer, 'dropped');
    raw.socket.write(record(raw.sealer, 'after the gap')); // record 0 dropped
  }, []);
  // Authentic but malformed contents (a peer bug) also end the connection, after the good messages before it.
  await recordAttack(f, (raw) => {
    raw.socket.write(Buffer.concat([
      record(raw.sealer, 'good'),
      raw.sealer.seal(FRAME_APPLICATION_DATA, Buffer.from([0, 0, 0, 9, 1, 2])), // length overruns the record
    ]));
  }, ['good'], 'malformed_record');
}));

test('a tampered record from the server ends the client connection with BAD_RECORD', () => withFixture(async (f) => {
  // Downstream: 2261 bytes of ServerHello, then the first record (5-byte header); flip a ciphertext byte.
  const proxy = await startRecordingProxy(f.port, { down: flipAt(2261 + 8) });
  try {
    const conn = await f.connectClient({ port: proxy.port });
    const errors: KemtlsError[] = [];
    conn.on('error', (e) => errors.push(e));
    const messages: Buffer[] = [];
    conn.on('message', (m) => messages.push(m));
    const closed = new Promise<KemtlsError | null>((resolve) => conn.once('close', resolve));
    conn.send(Buffer.from('hello'));
    const reason = await closed;
    assert.equal(reason?.code, 'BAD_RECORD');
    assert.deepEqual(errors.map((e) => e.code), ['BAD_RECORD']);
    assert.equal(messages.length, 0);
    assert.ok(f.log.entries().some((e) => e.role === 'client' && e.reason === 'bad_record'));
  } finally {
    await proxy.close();
  }
}));

test('replayed handshake: refused at once by the replay cache, and at ClientFinished without it', async () => {
  for (const replayCacheSize of [undefined, 0]) {
    await withFixture(async (f) => {
      const proxy = await startRecordingProxy(f.port);
      const conn = await f.connectClient({ port: proxy.port });
      const reply = new Promise((resolve) => conn.once('message', resolve));
      conn.send(Buffer.from('original'));
      await reply;
      conn.close();
      await once(conn, 'close');
      // The attacker's copy: ClientHello + ClientFinished + the first record.
      const recorded = proxy.upstream().subarray(0, 3515 + 37 + 5 + 4 + 8 + 16);
      await proxy.close();
      const connections: KemtlsConnection[] = [];
      f.server.on('connection', (c) => connections.push(c));
      const before = f.received.get(publicKeyFingerprint(f.clientKey.publicKey))?.length ?? 0;
      const { received } = await sendRaw(f.port, [recorded]);
      const reason = replayCacheSize === 0 ? 'bad_client_finished' : 'replayed_handshake';
      await waitForReason(f.log, reason, f.server);
      assert.equal(connections.length, 0, 'the replay never became a connection');
      assert.equal(f.received.get(publicKeyFingerprint(f.clientKey.publicKey))?.length ?? 0, before, 'the replayed record was not delivered');
      if (replayCacheSize === 0) {
        assert.equal(received.length, 2261, 'only a fresh ServerHello (no alert once the ServerHello is out)');
        assert.ok(!received.equals(proxy.downstream().subarray(0, 2261)), 'the server answered with fresh encapsulations');
      }
      else assert.ok(received.equals(encodeAlert(ALERT_HANDSHAKE_FAILED)));
    }, replayCacheSize === undefined ? {} : { replayCacheSize });
  }
});

test('oversized frames are refused from the header alone, before and after the handshake', () => withFixture(async (f) => {
  const hugeHeader = Buffer.from([FRAME_CLIENT_HELLO, 0x7f, 0xff, 0xff, 0xff]);
  const pre = await sendRaw(f.port, [Buffer.concat([encodePreamble(), hugeHeader])]);
  assert.ok(pre.received.equals(encodeAlert(ALERT_HANDSHAKE_FAILED)));
  await waitForReason(f.log, 'frame_too_large', f.server);

  const raw = await rawClient(f.port, f.clientKey, f.serverKey.publicKey);
  const start = Date.now();
  raw.socket.write(Buffer.from([FRAME_APPLICATION_DATA, 0x40, 0x00, 0x00, 0x00])); // 1 GiB announced, nothing sent
  await raw.closed;
  assert.ok(Date.now() - start < 2000, 'closed at once, not after a timeout');
  await waitFor('two frame_too_large', () => f.log.entries().filter((e) => e.reason === 'frame_too_large').length === 2);
  await waitFor('no leftover state', () => f.server.stats.connections === 0);
}, { maxFrameBytes: 4096 }));

test('slow, trickling and half-open handshakes time out without delaying other clients', () => withFixture(async (f) => {
  const hello = clientHello(f);
  const silent = sendRaw(f.port, []); // connects, sends nothing
  const preambleOnly = sendRaw(f.port, [encodePreamble()]);
  const trickle = sendRaw(f.port, Array.from({ length: 40 }, (_, i) => hello.subarray(i, i + 1)), { gapMs: 20 });
  await waitFor('three pending handshakes', () => f.server.stats.pendingHandshakes === 3);
  // Meanwhile a legitimate client is served promptly.
  const ms = await f.assertServes();
  assert.ok(ms < 400, `legitimate client took ${ms} ms while slow handshakes were pending`);
  const results = await Promise.all([silent, preambleOnly, trickle]);
  for (const r of results) {
    assert.ok(r.received.equals(encodeAlert(ALERT_HANDSHAKE_FAILED)), 'handshake_failed alert');
    assert.ok(r.closedAfterMs >= 450 && r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`);
  }
  await waitFor('three timeouts', () => f.log.entries().filter((e) => e.reason === 'handshake_timeout').length === 3);
  assert.deepEqual(f.server.stats.pendingHandshakes, 0);
}, { handshakeTimeoutMs: 600 }));

test('client side: a server that never answers times out; a closed port fails to connect', async () => {
  const mute = createServer((s) => s.on('error', () => {}));
  const sockets: Socket[] = [];
  mute.on('connection', (s) => sockets.push(s));
  mute.listen(0, '127.0.0.1');
  await once(mute, 'listening');
  const port = (mute.address() as AddressInfo).port;
  const k = generateKemKey();
  const start = Date.now();
  await rejectsWith(connect({ host: '127.0.0.1', port, clientKey: k, serverPublicKey: k.publicKey, handshakeTimeoutMs: 300 }), 'HANDSHAKE_TIMEOUT');
  assert.ok(Date.now() - start >= 290);
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => mute.close(() => r()));
  await rejectsWith(connect({ host: '127.0.0.1', port, clientKey: k, serverPublicKey: k.publicKey }), 'CONNECT_FAILED');
});

test('version mismatch: the server says which version it speaks; the client reports VERSION_MISMATCH', () => withFixture(async (f) => {
  const hello = clientHello(f);
  hello.writeUInt16BE(2, 4);
  const r = await sendRaw(f.port, [hello]);
  assert.ok(r.received.equals(encodeAlert(ALERT_VERSION_MISMATCH)));
  await waitForReason(f.log, 'version_mismatch', f.server);

  // A (future) server that answers our v1 ClientHello with a version alert.
  const future = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(encodeAlert(ALERT_VERSION_MISMATCH, 2)));
  });
  future.listen(0, '127.0.0.1');
  await once(future, 'listening');
  try {
    const p = f.connectClient({ port: (future.address() as AddressInfo).port });
    await assert.rejects(p, (e: unknown) => isQbindError(e, 'VERSION_MISMATCH') && /version 2/.test((e as Error).message));
  } finally {
    await new Promise<void>((r) => future.close(() => r()));
  }
}));

test('non-KEMTLS bytes (HTTP, TLS, garbage, wrong frame type) are dropped at once', () => withFixture(async (f) => {
  for (const bytes of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.from([0x89, 0x51, 0x00])]) {
    const r = await sendRaw(f.port, [bytes]);
    assert.equal(r.received.length, 0, 'no alert for a non-KEMTLS peer');
    assert.ok(r.closedAfterMs < 1000);
  }
  await waitFor('three bad_magic', () => f.log.entries().filter((e) => e.reason === 'bad_magic').length === 3);
  const wrongType = Buffer.concat([encodePreamble(), encodeFrame(FRAME_APPLICATION_DATA, Buffer.alloc(3504))]);
  await sendRaw(f.port, [wrongType]);
  await waitForReason(f.log, 'unexpected_message', f.server);
}));

test('connection limits: busy alert at maxConnections; oldest pending handshake evicted for a new one', async () => {
  await withFixture(async (f) => {
    const first = await f.connectClient();
    await rejectsWith(f.connectClient(), 'SERVER_BUSY');
    await waitForReason(f.log, 'server_busy');
    first.close();
    await waitFor('slot free', () => f.server.stats.connections === 0);
  }, { maxConnections: 1 });

  const f = await startFixture({ maxPendingHandshakes: 2 });
  try {
    const idle1 = sendRaw(f.port, []);
    await waitFor('one pending', () => f.server.stats.pendingHandshakes === 1);
    const idle2 = sendRaw(f.port, []);
    await waitFor('two pending', () => f.server.stats.pendingHandshakes === 2);
    await f.assertServes(); // its handshake evicts idle1
    const r1 = await idle1;
    assert.equal(r1.received.length, 0);
    await waitForReason(f.log, 'handshake_evicted');
    assert.equal(f.server.stats.pendingHandshakes, 1);
    await f.server.close(); // fails idle2 with server_closing
    await idle2;
    await waitForReason(f.log, 'server_closing', f.server);
  } finally {
    await f.close();
  }
});

test('a client that never reads its responses cannot make the server buffer without bound', () => withFixture(async (f) => {
  const raw = await rawClient(f.port, f.clientKey, f.serverKey.publicKey);
  raw.socket.pause(); // never read the echoes
  const fp = publicKeyFingerprint(f.clientKey.publicKey);
  const count = (): number => f.received.get(fp)?.length ?? 0;
  const message = Buffer.alloc(16_000, 1);
  const ATTEMPTED = 2000; // 32 MB of requests, 32 MB of echoes
  for (let i = 0; i < ATTEMPTED; i++) raw.socket.write(raw.sealer.seal(FRAME_APPLICATION_DATA, packMessages([message], 16384)[0]!));
  let last = -1;
  await waitFor('server to stop reading', () => {
    const now = count();
    const stable = now === last && now > 0;
    last = now;
    return stable;
  }, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  const served = count();
  assert.equal(served, last, 'server stopped reading while its responses are unread');
  assert.ok(served < ATTEMPTED / 2, `server read ${served} of ${ATTEMPTED} requests although their answers pile up`);
  raw.socket.destroy();
  await waitFor('connection dropped', () => f.server.stats.connections === 0);
  f.received.clear();
}));

test('no key material in any log line', () => withFixture(async (f) => {
  await f.assertServes();
  await rejectsWith(f.connectClient({ clientKey: generateKemKey() }), 'HANDSHAKE_REJECTED');
  const text = f.log.lines.join('\n');
  assert.ok(f.log.lines.length >= 3);
  assert.ok(!text.includes(f.serverKey.publicKey.toString('hex').slice(0, 64)), 'not even whole public keys, only fingerprints');
  assert.ok(text.includes(publicKeyFingerprint(f.clientKey.publicKey)));
}));
