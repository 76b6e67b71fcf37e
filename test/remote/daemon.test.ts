// qbind-remote-signer end to end, across real processes and real TCP: the
// daemon is a child process, the client is RemoteSignerClient over KEMTLS.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { generateKemKey, suiteById, SUITE_ML_DSA_44, verifySignature } from '../../src/crypto/index.ts';
import { connect } from '../../src/kemtls/index.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID, type Preimage } from '../../src/preimage/index.ts';
import { createRemoteSignerClient } from '../../src/remote/remote-signer-client.ts';
import { decodeSignResponse, encodeSignRequest } from '../../src/remote/wire.ts';
import { openProtectionStore } from '../../src/protection/index.ts';
import { SignError, SignerFailureMode, type ValidatorSigner } from '../../src/signer/index.ts';
import { buildDeployment, PASSPHRASE, runDaemonToExit, startDaemon, type DaemonProcess, type Deployment } from './fixture.ts';

const suite = suiteById(SUITE_ML_DSA_44);
const chainId = QBIND_DEVNET_CHAIN_ID;
const h = (s: string): Uint8Array => createHash('sha3-256').update(s).digest();
const vote = (voterId: bigint, view: bigint, block = `b${view}`): Uint8Array => encodePreimage({ kind: 'vote', chainId, view, blockHash: h(block), voterId });
const ROOT = new URL('../../', import.meta.url).pathname;

let dep: Deployment;
let daemon: DaemonProcess;
const clients: ValidatorSigner[] = [];

async function client(name: string, validatorId: bigint, url = daemon.url): Promise<ValidatorSigner> {
  const c = createRemoteSignerClient({
    url,
    validatorId,
    identity: await dep.nodeIdentity(name),
    signerPublicKey: dep.signerPublicKey,
    failureMode: SignerFailureMode.LogAndContinue,
    failureHooks: { log: () => undefined },
    requestTimeoutMs: 5000,
  });
  clients.push(c);
  return c;
}

async function refusedWith(p: Promise<unknown>, code: string): Promise<SignError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return e instanceof SignError && e.code === code;
  });
  return caught as SignError;
}

test.before(async () => {
  dep = await buildDeployment({
    validators: [42n, 43n],
    clients: [{ name: 'node42', validators: [42n] }, { name: 'node43', validators: [43n] }],
    rateLimitRps: 1000,
  });
  daemon = await startDaemon(dep.configPath, ['--init-protection-store']);
});

after(async () => {
  for (const c of clients) await c.close();
  await daemon?.stop();
});

test('signs a proposal, a vote and a timeout; each verifies under consensus.pub', async () => {
  const c = await client('node42', 42n);
  const msgs: Preimage[] = [
    { kind: 'proposal', chainId, view: 10n, blockHash: h('b10'), proposerId: 42n, parentHash: h('b9'), justifyQcView: 9n },
    { kind: 'vote', chainId, view: 10n, blockHash: h('b10'), voterId: 42n },
    { kind: 'timeout', chainId, view: 11n, highQcHash: h('qc10'), voterId: 42n, highQcView: 10n },
  ];
  for (const m of msgs) {
    const pre = encodePreimage(m);
    const sig = await c.sign(m.kind, pre);
    assert.ok(verifySignature(suite, dep.consensusPublicKey(42n), pre, sig), `${m.kind} verifies`);
    assert.ok(!verifySignature(suite, dep.consensusPublicKey(43n), pre, sig), `${m.kind} is not validator 43's`);
  }
});

test('a conflicting vote is refused; the identical retry returns the same signature', async () => {
  const c = await client('node42', 42n);
  const first = await c.signVote(vote(42n, 20n, 'A'));
  const again = await c.signVote(vote(42n, 20n, 'A'));
  assert.deepEqual(Buffer.from(again), Buffer.from(first));
  const e = await refusedWith(c.signVote(vote(42n, 20n, 'B')), 'DOUBLE_SIGN_REFUSED');
  assert.match(e.message, /vote/);
});

test('a client allowed for 42 asking for 43 is unauthorized; 43 is served to its own client', async () => {
  const c42 = await client('node42', 43n);
  const e = await refusedWith(c42.signVote(vote(43n, 5n)), 'UNAUTHORIZED');
  assert.match(e.message, /not allowed to sign for validator 43/);
  const c43 = await client('node43', 43n);
  assert.ok(verifySignature(suite, dep.consensusPublicKey(43n), vote(43n, 5n), await c43.signVote(vote(43n, 5n))));
});

test('an unknown client key cannot connect', async () => {
  const stranger = createRemoteSignerClient({ url: daemon.url, validatorId: 42n, identity: generateKemKey(), signerPublicKey: dep.signerPublicKey, failureMode: SignerFailureMode.LogAndContinue, failureHooks: { log: () => undefined } });
  clients.push(stranger);
  await refusedWith(stranger.signVote(vote(42n, 30n)), 'UNAVAILABLE');
});

test('a client pinned to another signer key refuses the server', async () => {
  const wrong = createRemoteSignerClient({ url: daemon.url, validatorId: 42n, identity: await dep.nodeIdentity('node42'), signerPublicKey: generateKemKey().publicKey, failureMode: SignerFailureMode.LogAndContinue, failureHooks: { log: () => undefined } });
  clients.push(wrong);
  await refusedWith(wrong.signVote(vote(42n, 31n)), 'UNAVAILABLE');
});

test('malformed requests after a good handshake get INVALID_REQUEST and the connection keeps serving', async () => {
  const conn = await connect({ host: '127.0.0.1', port: daemon.port, clientKey: await dep.nodeIdentity('node42'), serverPublicKey: dep.signerPublicKey });
  const replies: Buffer[] = [];
  conn.on('message', (m) => replies.push(m));
  const good = encodeSignRequest({ requestId: 1n, validatorId: 42n, suiteId: 100, kind: 'vote', view: 40n, preimage: vote(42n, 40n) });
  const badVersion = encodeSignRequest({ requestId: 2n, validatorId: 42n, suiteId: 100, kind: 'vote', view: 40n, preimage: vote(42n, 40n) });
  badVersion[0] = 9;
  const truncated = encodeSignRequest({ requestId: 3n, validatorId: 42n, suiteId: 100, kind: 'vote', view: 40n, preimage: vote(42n, 40n) }).subarray(0, good.length - 3);
  const wrongKind = encodeSignRequest({ requestId: 4n, validatorId: 42n, suiteId: 100, kind: 'proposal', view: 41n, preimage: vote(42n, 41n) });
  const wrongSuite = encodeSignRequest({ requestId: 5n, validatorId: 42n, suiteId: 1, kind: 'vote', view: 42n, preimage: vote(42n, 42n) });
  const badPreimage = encodeSignRequest({ requestId: 6n, validatorId: 42n, suiteId: 100, kind: 'vote', view: null, preimage: vote(42n, 43n).subarray(0, 50) });
  for (const m of [badVersion, truncated, wrongKind, wrongSuite, badPreimage, good]) conn.send(m);
  const deadline = Date.now() + 5000;
  while (replies.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  conn.close();
  const decoded = replies.map((r) => decodeSignResponse(r));
  const byId = new Map(decoded.map((d) => [d.requestId, d.response]));
  assert.equal(decoded.length, 6);
  assert.equal(byId.size, 6, 'one answer per request id');
  assert.ok(byId.get(1n)?.signature, 'the good request was signed');
  for (const id of [2n, 3n, 4n, 5n, 6n]) assert.equal(byId.get(id)?.error?.code, 'INVALID_REQUEST', `request ${id}`);
  assert.match(byId.get(2n)!.error!.message, /wire version 9/);
});

test('a burst over the rate limit is refused at once with RATE_LIMITED', async () => {
  const d2 = await buildDeployment({ validators: [7n], clients: [{ name: 'n7', validators: [7n] }], rateLimitRps: 10 });
  const daemon2 = await startDaemon(d2.configPath, ['--init-protection-store']);
  try {
    const c = createRemoteSignerClient({ url: daemon2.url, validatorId: 7n, identity: await d2.nodeIdentity('n7'), signerPublicKey: d2.signerPublicKey, failureMode: SignerFailureMode.LogAndContinue, failureHooks: { log: () => undefined } });
    clients.push(c);
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => c.signVote(vote(7n, BigInt(i + 1)))));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as SignError).code === 'RATE_LIMITED').length;
    assert.ok(ok >= 10 && ok <= 12, `about the burst size signed, got ${ok}`);
    assert.equal(ok + limited, 40);
  } finally {
    await daemon2.stop();
  }
});

test('metrics and health answer plain HTTP on the signer port; the audit log verifies', async () => {
  const metrics = await (await fetch(`http://127.0.0.1:${daemon.port}/metrics`)).text();
  assert.match(metrics, /qbind_signer_sign_requests_total\{kind="vote"\} \d+/);
  assert.match(metrics, /qbind_signer_sign_failures_total\{reason="double_sign_refused"\} [1-9]/);
  assert.match(metrics, /qbind_signer_double_sign_refused_total\{kind="vote"\} [1-9]/);
  const health = await fetch(`http://127.0.0.1:${daemon.port}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ready');
  const audit = join(dep.dir, 'signer-audit.log');
  const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l.decision === 'refused:DOUBLE_SIGN_REFUSED' && l.client === 'node42'));
  assert.ok(lines.every((l) => typeof l.preimage_sha3_256 === 'string' && typeof l.latency_ms === 'number'));
  const verify = spawnSync(join(ROOT, 'bin/qbind-remote-signer'), ['audit-verify', '--log', audit], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.ok(!daemon.output().includes(PASSPHRASE) && !readFileSync(audit, 'utf8').includes(PASSPHRASE), 'passphrase never logged');
});

test('killed and restarted: the client reconnects, nothing is signed twice', async () => {
  const c = await client('node42', 42n);
  const before = await c.signVote(vote(42n, 50n, 'X'));
  // The signature is stored for replay shortly after the reply (docs/protection.md): wait until the
  // store holds it, reading the daemon's SQLite store the way qbind-protection does.
  const storePath = join(dep.dir, 'signer-protection.sqlite');
  const deadline = Date.now() + 10_000;
  for (let stored = false; !stored; ) {
    assert.ok(Date.now() < deadline, 'the released signature was stored within 10 s');
    const store = await openProtectionStore(storePath);
    const recs = await store.exportRecords();
    await store.close();
    stored = recs.some((r) => r.kind === 'vote' && r.scope.validatorId === 42n && r.height === 50n && r.signature !== null);
    if (!stored) await new Promise((r) => setTimeout(r, 50));
  }
  const port = daemon.port;
  await daemon.stop('SIGKILL');
  await refusedWith(c.signVote(vote(42n, 52n)), 'UNAVAILABLE');
  // Same address as before, as systemd would restart it.
  writeFileSync(dep.configPath, readFileSync(dep.configPath, 'utf8').replace('listen_addr = "127.0.0.1:0"', `listen_addr = "127.0.0.1:${port}"`));
  daemon = await startDaemon(dep.configPath);
  let replay: Uint8Array | null = null;
  for (let i = 0; i < 50 && !replay; i++) {
    try {
      replay = await c.signVote(vote(42n, 50n, 'X'));
    } catch (e) {
      assert.equal((e as SignError).code, 'UNAVAILABLE');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(replay, 'client reconnected');
  assert.deepEqual(Buffer.from(replay), Buffer.from(before), 'the stored signature is returned after restart');
  await refusedWith(c.signVote(vote(42n, 50n, 'Y')), 'DOUBLE_SIGN_REFUSED');
});

test('a bad config fails at start listing every problem; a missing store is not silently created', async () => {
  const bad = join(dep.dir, 'bad.toml');
  writeFileSync(bad, 'listen_addr = "nowhere"\nbackend_mode = "floppy"\nrate_limit_rps = -1\nsurprise = 1\n');
  const r = await runDaemonToExit(bad);
  assert.equal(r.code, 1);
  for (const re of [/listen_addr/, /backend_mode must be/, /rate_limit_rps/, /unknown field 'surprise'/, /no validator/, /identity_keystore_path is required/, /authorized_clients/]) assert.match(r.output, re);
  const d3 = await buildDeployment({ validators: [9n], clients: [{ name: 'n9', validators: [9n] }] });
  const r3 = await runDaemonToExit(d3.configPath);
  assert.equal(r3.code, 1);
  assert.match(r3.output, /protection/i);
  const wrongPass = await runDaemonToExit(d3.configPath, ['--init-protection-store'], { QBIND_TEST_SIGNER_PASSPHRASE: 'not-the-passphrase' });
  assert.equal(wrongPass.code, 1);
  assert.ok(!wrongPass.output.includes('not-the-passphrase'));
});
