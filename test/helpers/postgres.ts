// A throwaway PostgreSQL cluster for tests (and benchmarks): initdb into a
// fresh temp folder, start the server on a unix socket in that folder only
// (no TCP), create databases on demand, stop and delete everything at the end.
// As root, initdb and the server run as the `postgres` user (initdb refuses
// root) with the folder chowned to it. The binaries come from the Debian
// `postgresql` package (/usr/lib/postgresql/*/bin), which .ci/run installs.

import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresCluster {
  /** Folder holding data, socket and log. */
  readonly dir: string;
  /** Superuser name. */
  readonly user: string;
  /** postgresql:// URL of a database (created by createDatabase). */
  url(database: string): string;
  /** Creates a new empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one SQL statement (as the superuser) in a database and returns the rows. */
  query<R = Record<string, unknown>>(database: string, sql: string, params?: unknown[]): Promise<R[]>;
  /** Stops the server (immediate shutdown) and deletes the folder. Idempotent. */
  stop(): Promise<void>;
}

function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) {
    throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install the Debian package postgresql (apt-get install postgresql; .ci/run does this)');
  }
  return join(root, versions[0]!, 'bin');
}

/** Runs a PostgreSQL binary as the postgres user when we are root. */
function runAs(asPostgres: boolean, bin: string, args: string[]): void {
  const [cmd, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${bin.split('/').pop()} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim().slice(0, 2000)}`);
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = findBinDir();
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'qbind-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const user = asPostgres ? 'postgres' : userInfo().username;
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  let started = false;
  const stop = async (): Promise<void> => {
    if (started) {
      started = false;
      try {
        runAs(asPostgres, join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    runAs(asPostgres, join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    // Unix socket in our folder only; fsync stays on (the store refuses fsync=off).
    writeFileSync(join(data, 'postgresql.auto.conf'), `listen_addresses = ''\nunix_socket_directories = '${dir}'\nmax_connections = 50\nshared_buffers = 32MB\n`, { flag: 'a' });
    runAs(asPostgres, join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
    started = true;
  } catch (err) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    await stop();
    throw new Error(`${(err as Error).message}${tail ? `\nserver log:\n${tail}` : ''}`);
  }
  const url = (database: string): string => `postgresql://${encodeURIComponent(user)}@/${encodeURIComponent(database)}?host=${encodeURIComponent(dir)}`;
  const query = async <R>(database: string, sql: string, params: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as R[];
    } finally {
      await client.end();
    }
  };
  return {
    dir,
    user,
    url,
    query,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
      await query('postgres', `CREATE DATABASE ${name}`);
      return url(name);
    },
    stop,
  };
}
