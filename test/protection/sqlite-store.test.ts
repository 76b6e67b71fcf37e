// SQLite store: the shared suite, plus what only a file can suffer: garbage,
// truncation, an empty file, a folder, another application's database, a
// write-ahead log without its database; WAL mode; location parsing.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProtectionStore, parseStoreLocation, ProtectionError, ProtectedSigner } from '../../src/protection/index.ts';
import { generateSigningKey, suiteById, SUITE_ED25519 } from '../../src/crypto/index.ts';
import { LocalKeySigner } from '../../src/signer/index.ts';
import { chainId, messages, silentLogger } from './fixtures/harness.ts';
import { protectionStoreSuite } from './store-suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'qbind-protection-sqlite-'));
let n = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

protectionStoreSuite({
  backend: 'sqlite',
  freshLocation: async () => (n++ % 2 === 0 ? join(dir, `s${n}.db`) : `sqlite:${join(dir, `s${n}.db`)}`),
  sql: async (location, statement) => {
    const db = new DatabaseSync(parseStoreLocation(location).backend === 'sqlite' ? location.replace(/^sqlite:/, '') : location);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
  },
});

async function refusesToOpen(path: string, code: string, text?: RegExp): Promise<void> {
  await assert.rejects(openProtectionStore(path, { create: true }), (e: unknown) => {
    assert.ok(e instanceof ProtectionError, String(e));
    assert.equal(e.code, code, e.message);
    if (text) assert.match(e.message, text);
    return true;
  });
}

/** A store file with a few records, closed (checkpointed into the main file). */
async function populatedStore(path: string): Promise<void> {
  const store = await openProtectionStore(path, { create: true });
  const key = generateSigningKey(suiteById(SUITE_ED25519));
  const s = new ProtectedSigner(new LocalKeySigner({ validatorId: 42n, chainId, key }), store, { chainId, logger: silentLogger() });
  const m = messages(42n);
  for (let v = 1n; v <= 40n; v++) await s.signBatchAck(m.ack(v, v));
  await store.close();
}

test('sqlite: refuses garbage, truncated, half-overwritten and empty files, never starting empty', async () => {
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, randomBytes(8192));
  await refusesToOpen(garbage, 'STORE_CORRUPT', /corrupted or not an SQLite database/);

  const empty = join(dir, 'empty.db');
  writeFileSync(empty, '');
  await refusesToOpen(empty, 'STORE_CORRUPT', /empty file/);

  const good = join(dir, 'good.db');
  await populatedStore(good);
  const bytes = readFileSync(good);
  assert.ok(bytes.length > 8192, `store has data pages (${bytes.length} bytes)`);

  const truncated = join(dir, 'truncated.db');
  writeFileSync(truncated, bytes.subarray(0, 4096 + 100));
  await refusesToOpen(truncated, 'STORE_CORRUPT');

  const overwritten = join(dir, 'overwritten.db');
  const damaged = Buffer.from(bytes);
  randomBytes(damaged.length - 4096).copy(damaged, 4096);
  writeFileSync(overwritten, damaged);
  await refusesToOpen(overwritten, 'STORE_CORRUPT');

  // The undamaged copy still opens and still refuses what it signed.
  const store = await openProtectionStore(good);
  const key = generateSigningKey(suiteById(SUITE_ED25519));
  const s = new ProtectedSigner(new LocalKeySigner({ validatorId: 42n, chainId, key }), store, { chainId, logger: silentLogger() });
  await assert.rejects(s.signBatchAck(messages(42n).ack(40n, 40n, 'B')), /double sign refused/);
  await store.close();
});

test('sqlite: refuses a folder, another database, and a WAL without its database', async () => {
  const folder = join(dir, 'folder.db');
  mkdirSync(folder);
  await refusesToOpen(folder, 'STORE_UNREADABLE', /is a folder/);

  const foreign = join(dir, 'foreign.db');
  const db = new DatabaseSync(foreign);
  db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)');
  db.close();
  await refusesToOpen(foreign, 'STORE_FOREIGN', /not a qbind protection store/);

  const orphan = join(dir, 'orphan.db');
  writeFileSync(`${orphan}-wal`, randomBytes(100));
  await refusesToOpen(orphan, 'STORE_CORRUPT', /write-ahead log/);
});

test('sqlite: a new store is in WAL mode and is created atomically (no temporary file left behind)', async () => {
  const path = join(dir, 'fresh.db');
  const store = await openProtectionStore(`sqlite:${path}`, { create: true });
  const db = new DatabaseSync(path, { readOnly: true });
  assert.deepEqual({ ...(db.prepare('PRAGMA journal_mode').get() as object) }, { journal_mode: 'wal' });
  db.close();
  await store.close();
  assert.ok(statSync(path).size > 0);
  const leftovers = (await import('node:fs')).readdirSync(dir).filter((f) => f.includes('fresh.db') && f.endsWith('.tmp'));
  assert.deepEqual(leftovers, []);
});

test('store locations: paths and sqlite: go to SQLite, postgres URLs to PostgreSQL, other schemes are refused', async () => {
  assert.deepEqual(parseStoreLocation('/var/lib/qbind/protection.db'), { backend: 'sqlite', path: '/var/lib/qbind/protection.db' });
  assert.deepEqual(parseStoreLocation('sqlite:rel/p.db'), { backend: 'sqlite', path: 'rel/p.db' });
  assert.deepEqual(parseStoreLocation('postgresql://u@/db?host=/tmp'), { backend: 'postgres', url: 'postgresql://u@/db?host=/tmp' });
  assert.equal(parseStoreLocation('postgres://u:pw@h:5432/db').backend, 'postgres');
  for (const bad of ['mysql://u:hunter2@h/db', '', 'sqlite:']) {
    assert.throws(() => parseStoreLocation(bad), (e: unknown) => e instanceof ProtectionError && e.code === 'STORE_LOCATION_INVALID' && !e.message.includes('hunter2'));
  }
});
