// PostgreSQL store on a throwaway cluster: the shared suite, plus what only a
// server can do: refuse fsync=off, report an unreachable server or missing
// database without leaking the password, share a database with other tables.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openProtectionStore, ProtectionError } from '../../src/protection/index.ts';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.ts';
import { protectionStoreSuite } from './store-suite.ts';

let cluster: PostgresCluster;
let n = 0;

before(async () => {
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
});

protectionStoreSuite({
  backend: 'postgres',
  freshLocation: async () => cluster.createDatabase(`suite_${++n}`),
  sql: async (location, statement) => {
    const db = decodeURIComponent(/^postgresql:\/\/[^/]*\/([^?]+)/.exec(location)![1]!);
    await cluster.query(db, statement);
  },
});

async function refusesToOpen(location: string, code: string, text?: RegExp, create = true): Promise<ProtectionError> {
  let caught: ProtectionError | undefined;
  await assert.rejects(openProtectionStore(location, { create }), (e: unknown) => {
    assert.ok(e instanceof ProtectionError, String(e));
    assert.equal(e.code, code, e.message);
    if (text) assert.match(e.message, text);
    caught = e;
    return true;
  });
  return caught!;
}

test('postgres: refuses a server running with fsync=off', async () => {
  const url = await cluster.createDatabase('unsafe');
  await cluster.query('postgres', 'ALTER SYSTEM SET fsync = off');
  await cluster.query('postgres', 'SELECT pg_reload_conf()');
  try {
    await refusesToOpen(url, 'STORE_UNSAFE', /fsync=off/);
  } finally {
    await cluster.query('postgres', 'ALTER SYSTEM RESET fsync');
    await cluster.query('postgres', 'SELECT pg_reload_conf()');
  }
  const store = await openProtectionStore(url, { create: true });
  await store.close();
});

test('postgres: an unreachable server or a missing database is STORE_UNREADABLE, and the password never shows', async () => {
  const e1 = await refusesToOpen(`postgresql://qbind:s3cretpw@/nodb?host=${encodeURIComponent(cluster.dir)}`, 'STORE_UNREADABLE', /cannot be reached or read/);
  const e2 = await refusesToOpen(`postgresql://qbind:s3cretpw@/x?host=${encodeURIComponent(cluster.dir + '/nowhere')}`, 'STORE_UNREADABLE');
  // A password with '@' in it (URL parsers split userinfo at the last '@'): no part of it may show.
  const e3 = await refusesToOpen(`postgresql://qbind:s3cret@pw@/nodb?host=${encodeURIComponent(cluster.dir)}`, 'STORE_UNREADABLE');
  assert.ok(!e3.message.includes('s3cret') && !e3.message.includes('@pw'), e3.message);
  for (const e of [e1, e2, e3]) {
    assert.ok(!e.message.includes('s3cretpw'), e.message);
    assert.match(e.message, /qbind:\*\*\*@/);
  }
});

test('postgres: shares a database with other applications; without create, a database with no protection tables is STORE_MISSING', async () => {
  const url = await cluster.createDatabase('shared');
  await cluster.query('shared', 'CREATE TABLE accounts (id int primary key, name text)');
  await refusesToOpen(url, 'STORE_MISSING', /no protection tables/, false);
  const store = await openProtectionStore(url, { create: true });
  await store.close();
  const tables = await cluster.query<{ table_name: string }>('shared', `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
  assert.deepEqual(tables.map((t) => t.table_name), ['accounts', 'qbind_protection_meta', 'qbind_protection_scopes', 'qbind_protection_signatures', 'qbind_protection_slots']);
  await (await openProtectionStore(url)).close();
});
