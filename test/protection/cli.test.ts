// qbind-protection as a real child process (bin/qbind-protection): export and
// import between SQLite and PostgreSQL stores, the documented example, bad
// files that change nothing, refusing to overwrite, unreadable stores, usage
// errors and their exit codes.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, suiteById, SUITE_ED25519, verifySignature } from '../../src/crypto/index.ts';
import { LocalKeySigner } from '../../src/signer/index.ts';
import { openProtectionStore, ProtectedSigner, type ProtectionStore } from '../../src/protection/index.ts';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.ts';
import { chainId, hash, messages, silentLogger } from './fixtures/harness.ts';
import { encodePreimage } from '../../src/preimage/index.ts';

const BIN = fileURLToPath(new URL('../../bin/qbind-protection', import.meta.url));
const DOC = fileURLToPath(new URL('../../docs/protection-interchange.md', import.meta.url));
const key = generateSigningKey(suiteById(SUITE_ED25519));
const m = messages(42n);
let dir: string;
let cluster: PostgresCluster;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qbind-protection-cli-'));
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { uid?: number; gid?: number; input?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid! } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdin.end(options.input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const signer = (store: ProtectionStore, validatorId = 42n): ProtectedSigner =>
  new ProtectedSigner(new LocalKeySigner({ validatorId, chainId, key }), store, { chainId, logger: silentLogger() });

async function populate(location: string): Promise<void> {
  const store = await openProtectionStore(location, { create: true });
  const s = signer(store);
  await s.signProposal(m.proposal(30n));
  await s.signVote(m.vote(30n));
  await s.signBatchAck(m.ack(3n, 12n));
  await signer(store, 43n).signVote(messages(43n).vote(8n));
  await store.close();
}

test('export from SQLite, import into PostgreSQL and back: the state moves, the file is the documented JSON', async () => {
  const sqlite = join(dir, 'old.db');
  await populate(sqlite);
  const file = join(dir, 'state.json');
  const ex = await run(['export', '--store', sqlite, '--output', file]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stderr, /exported 4 record\(s\)/);
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(doc.metadata.interchange_format, 'qbind-signing-protection');
  assert.deepEqual(doc.data.map((d: { validator_id: string }) => d.validator_id), ['42', '43']);

  const pg = await cluster.createDatabase('cli_move');
  const im = await run(['import', '--store', pg, '--input', file]);
  assert.equal(im.code, 0, im.stderr);
  assert.match(im.stdout, /imported 4 record\(s\): 4 added, 0 raised, 0 unchanged/);
  const store = await openProtectionStore(pg);
  try {
    await assert.rejects(signer(store).signVote(m.vote(30n, 'B')), /double sign refused: vote at view 30/);
    await assert.rejects(signer(store).signBatchAck(m.ack(3n, 11n)), /below the high-watermark/);
    await assert.rejects(signer(store, 43n).signVote(messages(43n).vote(8n, 'B')), /double sign refused/);
  } finally {
    await store.close();
  }
  // And back out of PostgreSQL, only validator 42, to stdout.
  const back = await run(['export', '--store', pg, '--output', '-', '--validator-id', '42', '--chain-id', 'devnet']);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(JSON.parse(back.stdout).data, [doc.data[0]]);
  const show = await run(['show', '--store', pg, '--output', 'json']);
  assert.equal(show.code, 0, show.stderr);
  assert.deepEqual(JSON.parse(show.stdout)[0].highest, { proposal: '30', vote: '30', timeout: '-', batch: '-', 'batch-ack': '12' });
});

test('the example in docs/protection-interchange.md imports and protects exactly as documented', async () => {
  const text = readFileSync(DOC, 'utf8');
  const block = /## Example \(test vector\)[\s\S]*?```json\n([\s\S]*?)\n```/.exec(text);
  assert.ok(block, 'the doc has an example block');
  const file = join(dir, 'example.json');
  writeFileSync(file, block[1]!);
  const location = `sqlite:${join(dir, 'example.db')}`;
  const im = await run(['import', '--store', location, '--input', file]);
  assert.equal(im.code, 0, im.stderr);
  assert.match(im.stdout, /imported 5 record\(s\): 5 added/);
  const store = await openProtectionStore(location);
  try {
    const s = signer(store);
    const block17 = hash('block-17');
    const vote = (view: bigint, blockHash = block17) => encodePreimage({ kind: 'vote', chainId, view, blockHash, voterId: 42n });
    const timeout = (view: bigint) => encodePreimage({ kind: 'timeout', chainId, view, highQcHash: hash('qc'), voterId: 42n, highQcView: view - 1n });
    await assert.rejects(s.signVote(vote(17n, hash('other'))), /a different vote was already signed at view 17/);
    await assert.rejects(s.signVote(vote(16n)), /below the high-watermark/);
    await assert.rejects(s.signTimeout(timeout(16n)), /already signed at the higher view 17/);
    await assert.rejects(s.signBatch(encodePreimage({ kind: 'batch', chainId, authorId: 42n, round: 9n, batchDigest: hash('x') })), /a different batch was already signed at round 9/);
    await assert.rejects(s.signBatchAck(encodePreimage({ kind: 'batch-ack', chainId, ackerId: 42n, batchAuthorId: 7n, batchRound: 8n, batchDigest: hash('x') })), /below the high-watermark/);
    assert.ok(verifySignature(key.suite, key.publicKey, vote(17n), await s.signVote(vote(17n))), 'the identical vote at 17 is signed again');
    assert.ok(await s.signTimeout(timeout(17n)), 'a timeout at 17 may follow the vote at 17');
  } finally {
    await store.close();
  }
});

test('a bad file changes nothing and creates nothing; exit code 1 with the JSON path', async () => {
  const location = join(dir, 'keep.db');
  await populate(location);
  const before = await run(['export', '--store', location, '--output', '-']);
  const good = JSON.parse(before.stdout);
  const cases: Array<[string, RegExp]> = [
    ['{ not json', /INTERCHANGE_INVALID.*not JSON/],
    [JSON.stringify({ ...good, data: [{ ...good.data[0], signed: [...good.data[0].signed, { kind: 'vote', view: '31', preimage: m.vote(32n).toString('hex') }] }] }), /data\[0\]\.signed\[3\].*view 32, the record says 31/],
    [JSON.stringify({ ...good, data: [{ ...good.data[0], validator_id: 42 }] }), /data\[0\]\.validator_id: must be a decimal string/],
    [JSON.stringify({ ...good, metadata: { ...good.metadata, interchange_format_version: '9' } }), /INTERCHANGE_VERSION/],
    [JSON.stringify({ ...good, extra: 1 }), /unknown field 'extra'/],
  ];
  for (const [i, [text, why]] of cases.entries()) {
    const file = join(dir, 'bad.json');
    writeFileSync(file, text);
    const r = await run(['import', '--store', location, '--input', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, why);
    if (i > 1) continue;
    const fresh = join(dir, 'never-created.db');
    const r2 = await run(['import', '--store', fresh, '--input', file]);
    assert.equal(r2.code, 1);
    assert.equal(existsSync(fresh), false, 'a bad file does not create a store');
  }
  const after = await run(['export', '--store', location, '--output', '-']);
  assert.deepEqual(JSON.parse(after.stdout).data, good.data);
  // stdin works too, and a second import of the same state changes nothing.
  const again = await run(['import', '--store', location, '--input', '-'], { input: before.stdout });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /0 added, 0 raised, 4 unchanged/);
});

test('export never overwrites without --force; a missing store is not created by export', async () => {
  const location = join(dir, 'ow.db');
  await populate(location);
  const file = join(dir, 'ow.json');
  writeFileSync(file, 'precious');
  const r = await run(['export', '--store', location, '--output', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /FILE_EXISTS/);
  assert.equal(readFileSync(file, 'utf8'), 'precious');
  assert.equal((await run(['export', '--store', location, '--output', file, '--force'])).code, 0);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).data.length, 2);
  const missing = join(dir, 'missing.db');
  const r2 = await run(['export', '--store', missing, '--output', '-']);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /STORE_MISSING/);
  assert.equal(existsSync(missing), false);
});

test('an unreadable store is refused with exit code 1 (run as an unprivileged user)', { skip: process.getuid?.() !== 0 && 'needs root to run the command as another user' }, async () => {
  const location = join(dir, 'locked.db');
  await populate(location);
  chmodSync(dir, 0o755);
  chmodSync(location, 0o600);
  const r = await run(['show', '--store', location], { uid: 65534, gid: 65534 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /STORE_UNREADABLE.*may not read and write/);
});

test('usage errors exit with 2', async () => {
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['export', '--output', '-'])).code, 2);
  assert.equal((await run(['export', '--store', 'x.db', '--output', '-', '--validator-id', 'abc'])).code, 2);
  const r = await run(['show', '--store', 'mysql://root:pw123@h/db']);
  assert.equal(r.code, 2);
  assert.ok(!r.stderr.includes('pw123'));
  assert.equal((await run(['frobnicate'])).code, 2);
});
