// Issue item 6(c): two signer processes behind one address share one
// PostgreSQL protection store and race for the same views with conflicting
// requests (each instance is asked to sign a different block). At most one
// signature per slot across both processes, and both instances really signed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSigningKey, generateSigningKey, suiteById, SUITE_ML_DSA_44, verifySignature, type SigningKeyPair } from '../../src/crypto/index.ts';
import { parsePreimage, type MessageKind } from '../../src/preimage/index.ts';
import { openProtectionStore, slotKey, slotRequestOf, type ProtectionScope } from '../../src/protection/index.ts';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.ts';
import { chainId, messages, SignerChild } from './fixtures/harness.ts';

const VIEWS = 120n;
const suite = suiteById(SUITE_ML_DSA_44);
const scope: ProtectionScope = { chainId, validatorId: 42n, keyRole: 'consensus' };
const m = messages(42n);
let cluster: PostgresCluster;
let dir: string;
let key: SigningKeyPair;
let seedFile: string;

before(async () => {
  cluster = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'qbind-race-'));
  key = generateSigningKey(suite);
  seedFile = join(dir, 'seed.hex');
  const seed = exportSigningKey(key);
  writeFileSync(seedFile, seed.toString('hex'), { mode: 0o600 });
  seed.fill(0);
});
after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('two processes on one PostgreSQL racing for the same views: at most one signature per view', { timeout: 120_000 }, async (t) => {
  const url = await cluster.createDatabase('race');
  await (await openProtectionStore(url, { create: true })).close();
  const children = await Promise.all([0, 1].map(() => SignerChild.start({ store: url, seedFile, validator: 42n })));
  const signed = new Map<string, Set<string>>(); // slot -> preimage hex
  const wins = [0, 0];
  const refused = [0, 0];
  try {
    const jobs: Promise<void>[] = [];
    for (let view = 1n; view <= VIEWS; view++) {
      const label = ['A', 'B'];
      const plan: Array<[number, MessageKind, Buffer]> = [0, 1].flatMap((i): Array<[number, MessageKind, Buffer]> => [
        [i, 'vote', m.vote(view, label[i])],
        [i, 'batch', m.batch(view, label[i])],
        [i, view % 2n === 0n ? 'proposal' : 'timeout', view % 2n === 0n ? m.proposal(view, label[i]) : m.timeout(view, label[i])],
      ]);
      if (randomInt(2) === 1) plan.reverse();
      for (const [i, kind, pre] of plan) {
        jobs.push(
          children[i]!.send(kind, pre).then((answer) => {
            assert.ok(answer, `instance ${i} answered`);
            if ('code' in answer) {
              assert.equal(answer.code, 'DOUBLE_SIGN_REFUSED', answer.message);
              refused[i]!++;
              return;
            }
            assert.ok(verifySignature(suite, key.publicKey, pre, answer.sig));
            const req = slotRequestOf(scope, parsePreimage(pre), pre);
            const slot = `${slotKey(scope, req.kind, req.subject)}@${req.height}`;
            const set = signed.get(slot) ?? new Set<string>();
            set.add(pre.toString('hex'));
            signed.set(slot, set);
            wins[i]!++;
          }),
        );
      }
      if (view % 8n === 0n) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
  } finally {
    for (const c of children) assert.equal(await c.end(), 0, c.stderr);
  }
  t.diagnostic(`signatures per instance ${wins.join('/')}, refusals ${refused.join('/')}, slots signed ${signed.size}`);
  for (const [slot, pres] of signed) assert.equal(pres.size, 1, `slot ${slot} was signed over ${pres.size} different preimages`);
  assert.ok(wins[0]! > 0 && wins[1]! > 0, `both instances signed some slots (${wins.join('/')})`);
  assert.ok(refused[0]! > 0 && refused[1]! > 0, `both instances were refused some (${refused.join('/')})`);
  assert.equal(wins[0]! + wins[1]! + refused[0]! + refused[1]!, Number(VIEWS) * 6);
});
