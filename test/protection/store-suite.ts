// The shared test suite every ProtectionStore runs (SQLite and PostgreSQL):
// exactly one signature among concurrent conflicting requests, replay of
// identical retries, crash-window behaviour, group commit, many validators,
// export/import, fail-closed opening, metrics and secret hygiene.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { exportPrivateKeyBytes, generateSigningKey, suiteById, SUITE_ED25519, SUITE_ML_DSA_44, verifySignature, type SigningKeyPair } from '../../src/crypto/index.ts';
import { parsePreimage } from '../../src/preimage/index.ts';
import { LocalKeySigner, SignError } from '../../src/signer/index.ts';
import { metricsRegistry } from '../../src/metrics/registry.ts';
import {
  exportInterchange,
  importInterchange,
  openProtectionStore,
  ProtectedSigner,
  ProtectionError,
  SIGNATURE_FLUSH_MS,
  slotRequestOf,
  type BatchedProtectionStore,
  type ProtectionStore,
} from '../../src/protection/index.ts';
import { chainId, collectingLogger, messages, silentLogger } from './fixtures/harness.ts';

export interface StoreFixture {
  readonly backend: 'sqlite' | 'postgres';
  /** A location where no store exists yet. */
  freshLocation(): Promise<string>;
  /** Runs SQL against the store's database behind its back (tampering). */
  sql(location: string, statement: string): Promise<void>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

const mldsa = suiteById(SUITE_ML_DSA_44);
const ed25519 = suiteById(SUITE_ED25519);

async function refusedWith(p: Promise<unknown>, code: string, text?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SignError || err instanceof ProtectionError, `unexpected error ${String(err)}`);
    assert.equal((err as SignError).code, code, (err as Error).message);
    if (text) assert.match((err as Error).message, text);
    return true;
  });
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

/** A sample of a metric; for a histogram's count, name is 'NAME_count'. */
async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const base = name.replace(/_count$/, '');
  const m = (await metricsRegistry.getMetricsAsJSON()).find((x) => x.name === base);
  const v = m?.values.find(
    (x) => ((x as { metricName?: string }).metricName ?? base) === name && Object.entries(labels).every(([k, want]) => String((x.labels as Record<string, unknown>)[k]) === want),
  );
  return v?.value ?? 0;
}

export function protectionStoreSuite(fx: StoreFixture): void {
  describe(`ProtectionStore (${fx.backend})`, () => {
    let key: SigningKeyPair;
    let fastKey: SigningKeyPair;
    const opened: ProtectionStore[] = [];
    const open = async (location: string, create = false): Promise<ProtectionStore> => {
      const s = await openProtectionStore(location, { create });
      opened.push(s);
      return s;
    };
    const signerFor = (store: ProtectionStore, validatorId = 42n, k: SigningKeyPair = key, logLines?: string[]): ProtectedSigner =>
      new ProtectedSigner(new LocalKeySigner({ validatorId, chainId, key: k }), store, { chainId, logger: logLines ? collectingLogger(logLines) : silentLogger() });

    before(async () => {
      key = generateSigningKey(mldsa);
      fastKey = generateSigningKey(ed25519);
      await fx.setup?.();
    });
    after(async () => {
      for (const s of opened) await s.close();
      await fx.teardown?.();
    });

    test('is created only when asked, and keeps its state across reopening', async () => {
      const loc = await fx.freshLocation();
      await assert.rejects(openProtectionStore(loc), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_MISSING');
      const store = await open(loc, true);
      assert.equal(store.backend, fx.backend);
      const m = messages(42n);
      const sig = await signerFor(store).signVote(m.vote(5n));
      assert.ok(verifySignature(mldsa, key.publicKey, m.vote(5n), sig));
      await store.close();
      const again = await open(loc);
      const s2 = signerFor(again);
      assert.equal(hex(await s2.signVote(m.vote(5n))), hex(sig), 'identical retry after restart returns the stored signature');
      await refusedWith(s2.signVote(m.vote(5n, 'B')), 'DOUBLE_SIGN_REFUSED', /^double sign refused: vote at view 5: a different vote was already signed at view 5$/);
      await refusedWith(s2.signVote(m.vote(4n)), 'DOUBLE_SIGN_REFUSED', /below the high-watermark/);
    });

    test('many concurrent conflicting requests give exactly one signature (one store, two signers, two store instances)', async () => {
      const loc = await fx.freshLocation();
      const a = await open(loc, true);
      const b = await open(loc);
      const m = messages(42n);
      const signers = [signerFor(a), signerFor(a), signerFor(b)];
      const labels = Array.from({ length: 150 }, (_, i) => `L${i}`);
      const results = await Promise.allSettled(labels.map((l, i) => signers[i % 3]!.signVote(m.vote(1n, l))));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ label: labels[i]!, sig: r.value }] : []));
      assert.equal(won.length, 1, `exactly one of ${labels.length} conflicting votes is signed`);
      assert.ok(verifySignature(mldsa, key.publicKey, m.vote(1n, won[0]!.label), won[0]!.sig));
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as SignError).code, 'DOUBLE_SIGN_REFUSED');
      // The same across kinds of one view: a proposal, votes and timeouts racing.
      const mixed = await Promise.allSettled([
        ...labels.slice(0, 30).map((l, i) => signers[i % 3]!.signVote(m.vote(2n, l))),
        ...labels.slice(0, 30).map((l, i) => signers[i % 3]!.signTimeout(m.timeout(2n, l))),
      ]);
      const okVotes = mixed.slice(0, 30).filter((r) => r.status === 'fulfilled').length;
      const okTimeouts = mixed.slice(30).filter((r) => r.status === 'fulfilled').length;
      assert.ok(okVotes <= 1 && okTimeouts <= 1 && okVotes + okTimeouts >= 1, `votes ${okVotes}, timeouts ${okTimeouts}`);
    });

    test('identical concurrent requests share one signature; a later retry replays it', async () => {
      const store = await open(await fx.freshLocation(), true);
      const s = signerFor(store);
      const m = messages(42n);
      const sigs = await Promise.all(Array.from({ length: 40 }, () => s.signProposal(m.proposal(9n))));
      for (const sig of sigs) assert.equal(hex(sig), hex(sigs[0]));
      assert.equal(hex(await s.signProposal(m.proposal(9n))), hex(sigs[0]));
      assert.ok(verifySignature(mldsa, key.publicKey, m.proposal(9n), sigs[0]!));
    });

    test('crash between record and signature: the identical request signs again, a conflicting one stays refused', async () => {
      const loc = await fx.freshLocation();
      const first = await open(loc, true);
      const m = messages(42n);
      const pre = m.vote(30n);
      // The record is committed, then the process "dies" before signing.
      const decision = await first.decide(slotRequestOf({ chainId, validatorId: 42n, keyRole: 'consensus' }, parsePreimage(pre), pre));
      assert.deepEqual(decision, { verdict: 'sign' });
      await first.close();
      const store = await open(loc);
      const s = signerFor(store);
      await refusedWith(s.signVote(m.vote(30n, 'B')), 'DOUBLE_SIGN_REFUSED', /a different vote was already signed at view 30/);
      const sig = await s.signVote(pre);
      assert.ok(verifySignature(mldsa, key.publicKey, pre, sig));
      assert.equal(hex(await s.signVote(pre)), hex(sig), 'once stored, the signature is replayed');
    });

    test('a released signature is stored within the flush delay (no close needed) and another instance replays it; probe() checks the store', async () => {
      const loc = await fx.freshLocation();
      const a = await open(loc, true);
      const b = await open(loc);
      const m = messages(42n);
      // ML-DSA (hedged): a fresh signature would differ in bytes, so equal bytes prove a replay.
      const sa = signerFor(a, 42n, key);
      const sig = await sa.signVote(m.vote(3n));
      // The batch at 4 is superseded by the batch at 5 before the flush: the slot keeps the latest signature.
      await sa.signBatch(m.batch(4n));
      await sa.signBatch(m.batch(5n));
      await new Promise((r) => setTimeout(r, SIGNATURE_FLUSH_MS * 3));
      // Another instance (another connection) sees the stored signature and replays it.
      assert.equal(hex(await signerFor(b, 42n, key).signVote(m.vote(3n))), hex(sig));
      const rows = await a.exportRecords();
      assert.deepEqual(rows.map((r) => [r.kind, r.height, r.signature !== null]), [['vote', 3n, true], ['batch', 5n, true]]);
      await a.probe();
      await a.close();
      await assert.rejects(a.probe(), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_CLOSED');
    });

    test('group commit: concurrent requests of many validators share transactions; every validator is protected', async () => {
      const store = await open(await fx.freshLocation(), true);
      const validators = Array.from({ length: 40 }, (_, i) => BigInt(1000 + i));
      const signers = validators.map((v) => signerFor(store, v, fastKey));
      const stats = (store as BatchedProtectionStore).commitStats;
      const before = { ...stats };
      const jobs = signers.flatMap((s, i) => {
        const m = messages(validators[i]!);
        return [s.signVote(m.vote(1n, 'A')), s.signVote(m.vote(1n, 'B')), s.signBatch(m.batch(1n)), s.signBatchAck(m.ack(7n, 1n)), s.signBatchAck(m.ack(8n, 1n))];
      });
      const results = await Promise.allSettled(jobs);
      const ops = stats.ops - before.ops;
      const batches = stats.batches - before.batches;
      assert.ok(ops >= jobs.length, `every decision went through the committer (${ops})`);
      assert.ok(batches * 4 <= ops, `group commit batched ${ops} operations into ${batches} transactions`);
      validators.forEach((v, i) => {
        const mine = results.slice(i * 5, i * 5 + 5);
        assert.equal(mine.slice(0, 2).filter((r) => r.status === 'fulfilled').length, 1, `validator ${v}: one of two conflicting votes`);
        assert.ok(mine.slice(2).every((r) => r.status === 'fulfilled'), `validator ${v}: batch and acks of two authors`);
      });
    });

    test('refusals are counted by kind and decisions timed by store; no key material in messages or logs', async () => {
      const store = await open(await fx.freshLocation(), true);
      const lines: string[] = [];
      const s = signerFor(store, 42n, key, lines);
      const m = messages(42n);
      const refusedBefore = await metricValue('qbind_signer_double_sign_refused_total', { kind: 'timeout' });
      const timedBefore = await metricValue('qbind_signer_protection_decision_seconds_count', { store: fx.backend });
      await s.signTimeout(m.timeout(3n));
      const errors: string[] = [];
      for (const pre of [m.timeout(3n, 'B'), m.timeout(2n)]) {
        try {
          await s.signTimeout(pre);
          assert.fail('must be refused');
        } catch (err) {
          assert.equal((err as SignError).code, 'DOUBLE_SIGN_REFUSED');
          errors.push((err as Error).message);
        }
      }
      assert.equal((await metricValue('qbind_signer_double_sign_refused_total', { kind: 'timeout' })) - refusedBefore, 2);
      assert.equal((await metricValue('qbind_signer_protection_decision_seconds_count', { store: fx.backend })) - timedBefore, 3);
      assert.equal(lines.filter((l) => l.includes('double sign refused')).length, 2);
      const secret = exportPrivateKeyBytes('ml-dsa-44', key.privateKey).toString('hex');
      for (const text of [...errors, ...lines, await (metricsRegistry.metrics())]) {
        assert.ok(!text.includes(secret.slice(0, 32)), 'no private key bytes');
      }
      assert.match(errors[0]!, /timeout at view 3: a different timeout was already signed at view 3/);
    });

    test('export then import moves the state: the new store refuses what the old one signed', async () => {
      const src = await open(await fx.freshLocation(), true);
      const s = signerFor(src, 42n, fastKey);
      const m = messages(42n);
      await s.signProposal(m.proposal(10n));
      await s.signVote(m.vote(10n));
      await s.signBatch(m.batch(4n));
      await s.signBatchAck(m.ack(5n, 6n));
      await signerFor(src, 43n, fastKey).signVote(messages(43n).vote(2n));
      const file = await exportInterchange(src);
      const doc = JSON.parse(file);
      assert.equal(doc.metadata.interchange_format_version, '1');
      assert.equal(doc.data.length, 2);
      assert.ok(!file.includes('signature'), 'signatures are not exported');

      const dst = await open(await fx.freshLocation(), true);
      const summary = await importInterchange(dst, file);
      assert.deepEqual(summary, { added: 5, raised: 0, unchanged: 0, blocked: 0, records: 5 });
      const t = signerFor(dst, 42n, fastKey);
      await refusedWith(t.signVote(m.vote(10n, 'B')), 'DOUBLE_SIGN_REFUSED');
      await refusedWith(t.signProposal(m.proposal(9n)), 'DOUBLE_SIGN_REFUSED');
      await refusedWith(t.signBatch(m.batch(4n, 'B')), 'DOUBLE_SIGN_REFUSED');
      await refusedWith(t.signBatchAck(m.ack(5n, 5n)), 'DOUBLE_SIGN_REFUSED');
      await refusedWith(signerFor(dst, 43n, fastKey).signVote(messages(43n).vote(2n, 'B')), 'DOUBLE_SIGN_REFUSED');
      const resigned = await t.signVote(m.vote(10n));
      assert.ok(verifySignature(ed25519, fastKey.publicKey, m.vote(10n), resigned), 'the identical vote may be signed again');
      assert.deepEqual(await exportInterchange(dst).then((x) => JSON.parse(x).data), doc.data);
    });

    test('import merges by maximum and never lowers a watermark', async () => {
      const store = await open(await fx.freshLocation(), true);
      const s = signerFor(store, 42n, fastKey);
      const m = messages(42n);
      await s.signVote(m.vote(20n));
      await s.signBatch(m.batch(3n));
      const older = await open(await fx.freshLocation(), true);
      const o = signerFor(older, 42n, fastKey);
      await o.signVote(m.vote(15n));
      await o.signBatch(m.batch(8n));
      await o.signTimeout(m.timeout(16n));
      const summary = await importInterchange(store, await exportInterchange(older));
      assert.deepEqual(summary, { added: 1, raised: 1, unchanged: 1, blocked: 0, records: 3 });
      await refusedWith(s.signVote(m.vote(19n)), 'DOUBLE_SIGN_REFUSED', /already signed at view 20/);
      await refusedWith(s.signBatch(m.batch(7n)), 'DOUBLE_SIGN_REFUSED', /already signed at round 8/);
      // Same height, different preimage: that height is blocked for everyone.
      const other = await open(await fx.freshLocation(), true);
      await signerFor(other, 42n, fastKey).signVote(m.vote(20n, 'B'));
      assert.deepEqual(await importInterchange(store, await exportInterchange(other)), { added: 0, raised: 0, unchanged: 0, blocked: 1, records: 1 });
      await refusedWith(s.signVote(m.vote(20n)), 'DOUBLE_SIGN_REFUSED', /preimage unknown/);
      await refusedWith(s.signVote(m.vote(20n, 'B')), 'DOUBLE_SIGN_REFUSED', /preimage unknown/);
      assert.ok(await s.signVote(m.vote(21n)));
    });

    test('a bad interchange file changes nothing', async () => {
      const store = await open(await fx.freshLocation(), true);
      const m = messages(42n);
      await signerFor(store, 42n, fastKey).signVote(m.vote(4n));
      const beforeExport = JSON.parse(await exportInterchange(store)).data;
      const good = { chain_id: '0x5142494e44444556', validator_id: '42', key_role: 'consensus', signed: [{ kind: 'vote', view: '99', preimage: m.vote(99n).toString('hex') }] };
      const bad = [
        { ...good, signed: [...good.signed, { kind: 'vote', view: '100', preimage: m.vote(99n).toString('hex') }] }, // preimage is for view 99
        { ...good, signed: [...good.signed, { kind: 'vote', view: 100 }] }, // number, not string
        { ...good, signed: [...good.signed, { kind: 'proposal', view: '5', preimage: messages(43n).proposal(5n).toString('hex') }] }, // other validator
        { ...good, key_role: 'batch-signing' }, // role does not sign votes
      ];
      for (const entry of bad) {
        const text = JSON.stringify({ metadata: { interchange_format: 'qbind-signing-protection', interchange_format_version: '1' }, data: [good, entry] });
        await assert.rejects(importInterchange(store, text), (e: unknown) => e instanceof ProtectionError && e.code === 'INTERCHANGE_INVALID');
      }
      await assert.rejects(
        importInterchange(store, JSON.stringify({ metadata: { interchange_format: 'qbind-signing-protection', interchange_format_version: '2' }, data: [good] })),
        (e: unknown) => e instanceof ProtectionError && e.code === 'INTERCHANGE_VERSION',
      );
      assert.deepEqual(JSON.parse(await exportInterchange(store)).data, beforeExport);
    });

    test('refuses to open a tampered row, a newer schema, a store without meta; fails closed when damage is found while running', async () => {
      const loc = await fx.freshLocation();
      const store = await open(loc, true);
      const s = signerFor(store, 42n, fastKey);
      const m = messages(42n);
      await s.signVote(m.vote(50n));
      await s.signBatch(m.batch(50n));
      await fx.sql(loc, `UPDATE qbind_protection_slots SET height = '3' WHERE kind = 'vote'`);
      // The running store meets the damaged row: it refuses, and keeps refusing.
      await refusedWith(s.signVote(m.vote(51n)), 'BACKEND_FAILURE', /checksum mismatch/);
      await refusedWith(s.signBatch(m.batch(51n)), 'BACKEND_FAILURE', /checksum mismatch/);
      await assert.rejects(openProtectionStore(loc), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_CORRUPT' && /checksum mismatch/.test(e.message));
      await fx.sql(loc, `DELETE FROM qbind_protection_slots WHERE kind = 'vote'`);
      await fx.sql(loc, `UPDATE qbind_protection_meta SET value = '2' WHERE key = 'schema_version'`);
      await assert.rejects(openProtectionStore(loc), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_VERSION_TOO_NEW' && /schema version 2/.test(e.message));
      await fx.sql(loc, `DELETE FROM qbind_protection_meta WHERE key = 'schema_version'`);
      await assert.rejects(openProtectionStore(loc), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_CORRUPT');
      await fx.sql(loc, `DROP TABLE qbind_protection_meta`);
      await assert.rejects(openProtectionStore(loc, { create: true }), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_FOREIGN');
    });

    test('a closed store refuses to decide; the signer reports a backend failure', async () => {
      const store = await open(await fx.freshLocation(), true);
      const s = signerFor(store, 42n, fastKey);
      await store.close();
      await refusedWith(s.signVote(messages(42n).vote(1n)), 'BACKEND_FAILURE', /is closed/);
      await assert.rejects(store.exportRecords(), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_CLOSED');
    });
  });
}
