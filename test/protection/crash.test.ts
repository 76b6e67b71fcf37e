// Issue item 6(b): a signer child process is killed with SIGKILL at random
// points of a long stream of signings (conflicting pairs for every slot,
// rewinds below the watermark) and restarted over the same SQLite store, many
// times. Released means: the parent read the signature line. Checked: no slot
// ever has signatures over two different preimages; every conflicting request
// for an already released slot is refused right after each restart; at the
// end the store covers every released signature.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSigningKey, generateSigningKey, suiteById, SUITE_ML_DSA_44, verifySignature } from '../../src/crypto/index.ts';
import { parsePreimage, type MessageKind } from '../../src/preimage/index.ts';
import { LocalKeySigner } from '../../src/signer/index.ts';
import { openProtectionStore, ProtectedSigner, slotKey, slotRequestOf, type ProtectionScope } from '../../src/protection/index.ts';
import { chainId, messages, SignerChild, silentLogger, type ChildAnswer } from './fixtures/harness.ts';

const KILLS = 25;
const IN_FLIGHT = 24;
const suite = suiteById(SUITE_ML_DSA_44);
const scope: ProtectionScope = { chainId, validatorId: 42n, keyRole: 'consensus' };
const m = messages(42n);

interface Sent {
  kind: MessageKind;
  preimage: Buffer;
}

/** The requests of one view: conflicting pairs for every kind, some optional. */
function requestsFor(view: bigint): Sent[] {
  const out: Sent[] = [];
  for (const label of ['A', 'B']) {
    out.push({ kind: 'vote', preimage: m.vote(view, label) });
    out.push({ kind: 'batch', preimage: m.batch(view, label) });
    out.push({ kind: 'batch-ack', preimage: m.ack(view % 3n, view, label) });
    if (view % 3n === 0n) out.push({ kind: 'proposal', preimage: m.proposal(view, label) });
    if (view % 4n === 1n) out.push({ kind: 'timeout', preimage: m.timeout(view, label) });
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function slotOf(pre: Uint8Array): string {
  const req = slotRequestOf(scope, parsePreimage(pre), pre);
  return `${slotKey(scope, req.kind, req.subject)}@${req.height}`;
}

test('SIGKILL at random points, restarted over the same SQLite store: never a conflict, never a lost released signature', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qbind-crash-'));
  try {
    const key = generateSigningKey(suite);
    const seedFile = join(dir, 'seed.hex');
    const seed = exportSigningKey(key);
    writeFileSync(seedFile, seed.toString('hex'), { mode: 0o600 });
    seed.fill(0);
    const store = join(dir, 'protection.db');

    const released = new Map<string, Map<string, Sent>>(); // slot -> preimage hex -> request
    const counts = { released: 0, refused: 0, unanswered: 0, killedWithWorkInFlight: 0, recheckRefused: 0 };
    let recent: Sent[] = [];
    let view = 1n;

    const note = (sent: Sent, answer: ChildAnswer | null, fresh: Sent[]): void => {
      if (answer === null) {
        counts.unanswered++;
        return;
      }
      if ('code' in answer) {
        assert.equal(answer.code, 'DOUBLE_SIGN_REFUSED', `only double-sign refusals are expected: ${answer.message}`);
        counts.refused++;
        return;
      }
      assert.ok(verifySignature(suite, key.publicKey, sent.preimage, answer.sig), `released signature of a ${sent.kind} verifies`);
      const slot = slotOf(sent.preimage);
      const byPre = released.get(slot) ?? new Map<string, Sent>();
      byPre.set(sent.preimage.toString('hex'), sent);
      released.set(slot, byPre);
      counts.released++;
      fresh.push(sent);
    };

    for (let run = 0; run <= KILLS; run++) {
      const t0 = performance.now();
      const child = await SignerChild.start({ store, seedFile, validator: 42n, create: run === 0 });
      // Right after the restart: whatever was released before must still be known.
      for (const sent of recent.slice(-10)) {
        const answer = await child.send(sent.kind, conflictingPreimage(sent));
        assert.ok(answer && 'code' in answer && answer.code === 'DOUBLE_SIGN_REFUSED', `after restart ${run}, a conflicting ${sent.kind} for a released slot is refused`);
        counts.recheckRefused++;
      }
      const fresh: Sent[] = [];
      const last = run === KILLS;
      let alive = true;
      void child.exited.then(() => {
        alive = false;
      });
      const timer = last ? null : setTimeout(() => {
        if (child.inFlight > 0) counts.killedWithWorkInFlight++;
        child.kill();
      }, randomInt(10, 160));
      view = view > 3n ? view - BigInt(randomInt(0, 4)) : view; // rewind: old slots come again
      const pending = new Set<Promise<void>>();
      const stopAt = view + 30n;
      while (alive && (!last || view < stopAt)) {
        for (const sent of requestsFor(view)) {
          const p = child.send(sent.kind, sent.preimage).then((a) => note(sent, a, fresh));
          pending.add(p);
          void p.finally(() => pending.delete(p));
        }
        view++;
        while (alive && pending.size >= IN_FLIGHT) await Promise.race(pending);
      }
      await Promise.all(pending);
      if (timer) clearTimeout(timer);
      if (last) assert.equal(await child.end(), 0);
      else await child.exited;
      recent = [...recent, ...fresh].slice(-50);
      if (process.env.QBIND_CRASH_TRACE) console.log(`run ${run}: ${(performance.now() - t0).toFixed(0)} ms, ${fresh.length} released`);
    }

    t.diagnostic(`runs ${KILLS + 1}: ${JSON.stringify(counts)}, slots with a released signature ${released.size}`);
    // Never two different preimages signed for one slot.
    for (const [slot, byPre] of released) assert.equal(byPre.size, 1, `slot ${slot} has signatures over ${byPre.size} different preimages`);
    assert.ok(counts.released >= 300, `enough signatures were released (${counts.released})`);
    assert.ok(counts.refused >= 300, `conflicts were attempted and refused (${counts.refused})`);
    assert.ok(counts.killedWithWorkInFlight >= KILLS / 2, `kills landed with requests in flight (${counts.killedWithWorkInFlight} of ${KILLS})`);

    // The final store covers every released signature: each conflicting request is refused.
    const final = await openProtectionStore(store);
    try {
      const signer = new ProtectedSigner(new LocalKeySigner({ validatorId: 42n, chainId, key }), final, { chainId, logger: silentLogger() });
      const records = new Map((await final.exportRecords()).map((r) => [slotKey(r.scope, r.kind, r.subject), r]));
      for (const byPre of released.values()) {
        const sent = [...byPre.values()][0]!;
        const req = slotRequestOf(scope, parsePreimage(sent.preimage), sent.preimage);
        const rec = records.get(slotKey(scope, req.kind, req.subject));
        assert.ok(rec && (rec.height > req.height || (rec.height === req.height && Buffer.compare(rec.preimage!, sent.preimage) === 0)), `store covers released ${sent.kind} ${req.height}`);
        await assert.rejects(signer.sign(req.kind, conflictingPreimage(sent)), /double sign refused/);
      }
    } finally {
      await final.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The 'X' variant of a request: same slot, different content. */
function conflictingPreimage(sent: Sent): Buffer {
  const p = parsePreimage(sent.preimage);
  switch (p.kind) {
    case 'vote': return m.vote(p.view, 'X');
    case 'proposal': return m.proposal(p.view, 'X');
    case 'timeout': return m.timeout(p.view, 'X');
    case 'batch': return m.batch(p.round, 'X');
    case 'batch-ack': return m.ack(p.batchAuthorId, p.batchRound, 'X');
  }
}
