// unlockMany / unlockManySettled (PBKDF2 on worker threads), the KdfPool
// itself, and the progress bar it draws on a terminal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createProgressBar } from '../../src/log/progress.ts';
import { generateKeystore, KdfPool, KeystoreError, openKeystore, unlockMany, unlockManySettled } from '../../src/keystore/index.ts';
import { tempDir } from './helpers.ts';

const PASS = 'Um-unlock-many-passphrase-5531';
const IT = 2000;

test('KdfPool derives what pbkdf2Sync derives, on several workers at once, and refuses after close', async () => {
  const pool = new KdfPool(2);
  assert.equal(pool.size, 2);
  const jobs = Array.from({ length: 6 }, (_, i) => ({ pw: Buffer.from(`pw-${i}`), salt: randomBytes(32), iterations: 1000 + i }));
  const got = await Promise.all(jobs.map((j) => pool.derive(j.pw, { salt: j.salt, iterations: j.iterations })));
  jobs.forEach((j, i) => assert.ok(got[i]!.equals(pbkdf2Sync(j.pw, j.salt, j.iterations, 32, 'sha256')), `job ${i}`));
  assert.ok(jobs.every((j) => j.pw.toString().startsWith('pw-')), "the caller's passphrase buffer is left alone");
  await pool.close();
  await assert.rejects(pool.derive(Buffer.from('x'), { salt: randomBytes(32), iterations: 1 }), (e: unknown) => e instanceof KeystoreError && e.code === 'KDF_WORKER_FAILED');
});

test('unlockMany opens every keystore with the keys openKeystore gives, reporting progress', async (t) => {
  const root = tempDir(t);
  const dirs = Array.from({ length: 5 }, (_, i) => join(root, `v${i}`));
  await Promise.all(dirs.map((dir, i) => generateKeystore({ dir, validatorId: BigInt(100 + i), roles: ['consensus', 'p2p-identity'], passphrase: PASS, profile: 'testnet-beta', iterations: IT })));
  const progress: [number, number][] = [];
  const all = await unlockMany(dirs, PASS, { profile: 'testnet-beta', workers: 2, onProgress: (d, n) => progress.push([d, n]) });
  assert.deepEqual(progress, [[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
  assert.deepEqual(all.map((k) => k.validatorId), [100n, 101n, 102n, 103n, 104n]);
  const single = await openKeystore(dirs[3]!, { passphrase: PASS, profile: 'testnet-beta' });
  assert.ok(all[3]!.signingKey('consensus').publicKey.equals(single.signingKey('consensus').publicKey));
  assert.ok(all[3]!.kemKey().publicKey.equals(single.kemKey().publicKey));
});

test('unlockManySettled reports each failure with its own code; unlockMany fails as a whole', async (t) => {
  const root = tempDir(t);
  const good = join(root, 'good');
  const other = join(root, 'other');
  await generateKeystore({ dir: good, validatorId: 1n, roles: ['consensus'], passphrase: PASS, profile: 'devnet-v0', iterations: IT });
  await generateKeystore({ dir: other, validatorId: 2n, roles: ['consensus'], passphrase: PASS + '-other', profile: 'devnet-v0', iterations: IT });
  const entries = [{ dir: good }, { dir: other }, { dir: join(root, 'missing') }, { dir: other, passphrase: PASS + '-other' }, { dir: good, validatorId: 9n }];
  const out = await unlockManySettled(entries, PASS, { profile: 'devnet-v0', workers: 2 });
  assert.deepEqual(out.map((o) => (o.ok ? 'ok' : o.error.code)), ['ok', 'WRONG_PASSPHRASE', 'KEYSTORE_NOT_FOUND', 'ok', 'KEYSTORE_VALIDATOR_MISMATCH']);
  for (const o of out) assert.ok(o.ok || !o.error.message.includes(PASS));
  await assert.rejects(unlockMany(entries, PASS, { profile: 'devnet-v0' }), (e: unknown) => e instanceof KeystoreError && e.code === 'WRONG_PASSPHRASE' && /and 2 more of 5 keystores failed/.test(e.message));
});

test('progress bar: drawn on a TTY, silent otherwise', () => {
  const written: string[] = [];
  const tty = { isTTY: true, columns: 100, write: (s: string) => written.push(s) };
  const bar = createProgressBar('unlocking', 4, tty);
  bar.update(1);
  bar.update(4);
  bar.finish();
  assert.ok(written.some((w) => /\[#+\.*\] 1\/4/.test(w)));
  assert.ok(written.some((w) => /\[#+\] 4\/4/.test(w)));
  assert.equal(written.at(-1), '\n');
  const silent: string[] = [];
  const pipe = createProgressBar('x', 4, { isTTY: false, write: (s: string) => silent.push(s) });
  pipe.update(2);
  pipe.finish();
  assert.deepEqual(silent, []);
});
