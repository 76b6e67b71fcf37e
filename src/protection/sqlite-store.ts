// SqliteProtectionStore: the default protection store, an embedded SQLite file
// (node:sqlite) in WAL mode with synchronous=FULL, so every commit is fsync'd
// before it returns. Each group-committed batch is one BEGIN IMMEDIATE
// transaction: the write lock is taken before anything is read, so check and
// update happen under one lock even with several processes on one file.

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { accessSync, closeSync, constants, existsSync, fsyncSync, linkSync, openSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fsyncDir } from '../fsutil/atomic-write.ts';
import { ProtectionError } from './errors.ts';
import { PROTECTION_SCHEMA_VERSION, TABLE_META, TABLE_SCOPES, TABLE_SIGNATURES, TABLE_SLOTS, checkMeta, initialMeta } from './schema.ts';
import { BatchedProtectionStore, decodeRow, encodeRow, encodeScope, filterRows, scopesOf, type ExportFilter, type SlotRef, type StoredRow, type TransactionBody } from './store.ts';
import { scopeKey, slotKey, type ProtectionScope, type SlotRecord } from './records.ts';

export interface SqliteStoreOptions {
  /** Create the store when the file does not exist (default false: a missing store is an error). */
  create?: boolean;
  /** Largest group-commit batch (default 1024). */
  maxBatch?: number;
  /** How long to wait for another process's write lock, in ms (default 10000). */
  busyTimeoutMs?: number;
}

const SCHEMA = `
CREATE TABLE ${TABLE_META} (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE ${TABLE_SCOPES} (
  id INTEGER PRIMARY KEY,
  chain_id TEXT NOT NULL,
  validator_id TEXT NOT NULL,
  key_role TEXT NOT NULL,
  UNIQUE (chain_id, validator_id, key_role)
) STRICT;
CREATE TABLE ${TABLE_SLOTS} (
  scope_id INTEGER NOT NULL REFERENCES ${TABLE_SCOPES}(id),
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  height TEXT NOT NULL,
  preimage BLOB,
  checksum BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope_id, kind, subject)
) STRICT, WITHOUT ROWID;
CREATE TABLE ${TABLE_SIGNATURES} (
  scope_id INTEGER NOT NULL REFERENCES ${TABLE_SCOPES}(id),
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  record_checksum BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (scope_id, kind, subject)
) STRICT;
`;

/** SQLite page cache, KiB (the default 2 MiB holds only ~500 slot rows). */
const PAGE_CACHE_KIB = 64 * 1024;

/** Slot records kept in memory at most (beyond it the cache starts over). */
const CACHE_LIMIT = 65_536;

/** Slot rows with their scope and the signature stored for exactly that record (matched by checksum). */
const SELECT_ROWS = `SELECT s.chain_id, s.validator_id, s.key_role, r.kind, r.subject, r.height, r.preimage, g.signature, r.checksum
  FROM ${TABLE_SLOTS} r JOIN ${TABLE_SCOPES} s ON s.id = r.scope_id
  LEFT JOIN ${TABLE_SIGNATURES} g ON g.scope_id = r.scope_id AND g.kind = r.kind AND g.subject = r.subject AND g.record_checksum = r.checksum`;

// SQLite primary result codes (sqlite3.h); node:sqlite reports extended codes in errcode.
const SQLITE_PERM = 3;
const SQLITE_BUSY = 5;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

function sqliteCode(err: unknown): number | null {
  const e = err as { code?: unknown; errcode?: unknown };
  return e && e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' ? e.errcode & 0xff : null;
}

function classify(err: unknown, description: string, doing: string): ProtectionError {
  if (err instanceof ProtectionError) return err;
  const code = sqliteCode(err);
  const detail = (err as Error)?.message ?? String(err);
  if (code === SQLITE_NOTADB || code === SQLITE_CORRUPT) {
    return new ProtectionError('STORE_CORRUPT', `${description} is corrupted or not an SQLite database (${detail}) while ${doing}`, { cause: err });
  }
  if (code === SQLITE_CANTOPEN || code === SQLITE_PERM || code === SQLITE_READONLY || code === SQLITE_IOERR) {
    return new ProtectionError('STORE_UNREADABLE', `${description} cannot be read or written (${detail}) while ${doing}`, { cause: err });
  }
  if (code === SQLITE_BUSY) {
    return new ProtectionError('STORE_FAILURE', `${description} stayed locked by another process (${detail}) while ${doing}`, { cause: err });
  }
  return new ProtectionError('STORE_FAILURE', `${description} failed (${detail}) while ${doing}`, { cause: err });
}

/** Creates a new store file atomically: built under a temporary name, fsync'd, then linked into place. */
function createStoreFile(path: string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const db = new DatabaseSync(tmp);
    try {
      db.exec('PRAGMA journal_mode=WAL');
      db.exec('PRAGMA synchronous=FULL');
      db.exec('BEGIN IMMEDIATE');
      db.exec(SCHEMA);
      const put = db.prepare(`INSERT INTO ${TABLE_META}(key, value) VALUES (?, ?)`);
      for (const [k, v] of initialMeta()) put.run(k, v);
      db.exec('COMMIT');
    } finally {
      db.close();
    }
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      // Another process created it first: open theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    fsyncDir(dir);
  } finally {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) {
      try {
        unlinkSync(f);
      } catch {
        // not there
      }
    }
  }
}

export class SqliteProtectionStore extends BatchedProtectionStore {
  readonly backend = 'sqlite' as const;
  readonly description: string;
  readonly path: string;
  #db: DatabaseSync | null;
  readonly #scopeIds = new Map<string, number>();
  /**
   * Write-through cache of slot records (null: known to be absent). Valid only
   * while no other connection has committed: checked with PRAGMA data_version
   * under the write lock at the start of every transaction.
   */
  readonly #cache = new Map<string, SlotRecord | null>();
  #dataVersion = -1;
  readonly #stmt: {
    insertScope: StatementSync;
    scopeId: StatementSync;
    select: StatementSync;
    dataVersion: StatementSync;
    upsertSlot: StatementSync;
    upsertSignature: StatementSync;
  };

  private constructor(path: string, db: DatabaseSync, options: SqliteStoreOptions) {
    super({ maxBatch: options.maxBatch ?? 1024 });
    this.path = path;
    this.description = `SQLite store ${path}`;
    this.#db = db;
    this.#stmt = {
      insertScope: db.prepare(`INSERT OR IGNORE INTO ${TABLE_SCOPES}(chain_id, validator_id, key_role) VALUES (?, ?, ?)`),
      scopeId: db.prepare(`SELECT id FROM ${TABLE_SCOPES} WHERE chain_id = ? AND validator_id = ? AND key_role = ?`),
      select: db.prepare(`${SELECT_ROWS} WHERE r.scope_id = ? AND r.kind = ? AND r.subject = ?`),
      dataVersion: db.prepare('PRAGMA data_version'),
      upsertSlot: db.prepare(`INSERT INTO ${TABLE_SLOTS}(scope_id, kind, subject, height, preimage, checksum, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (scope_id, kind, subject) DO UPDATE SET height = excluded.height, preimage = excluded.preimage,
          checksum = excluded.checksum, updated_at = excluded.updated_at`),
      upsertSignature: db.prepare(`INSERT INTO ${TABLE_SIGNATURES}(scope_id, kind, subject, record_checksum, signature)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (scope_id, kind, subject) DO UPDATE SET record_checksum = excluded.record_checksum, signature = excluded.signature`),
    };
  }

  /**
   * Opens (or with `create`, creates) the store at `path`. Refuses, with a
   * ProtectionError, a missing file (unless create), an empty or damaged file,
   * a folder, an unreadable file, a database that is not a protection store,
   * a newer schema version, and any row whose checksum or preimage is wrong.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteProtectionStore {
    const abs = resolve(path);
    const description = `SQLite store ${abs}`;
    let exists = true;
    try {
      const st = statSync(abs);
      if (st.isDirectory()) throw new ProtectionError('STORE_UNREADABLE', `${description} is a folder, not a store file`);
      if (!st.isFile()) throw new ProtectionError('STORE_UNREADABLE', `${description} is not a regular file`);
      if (st.size === 0) throw new ProtectionError('STORE_CORRUPT', `${description} is an empty file (a truncated store is never treated as a new one)`);
    } catch (err) {
      if (err instanceof ProtectionError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new ProtectionError('STORE_UNREADABLE', `${description} cannot be examined (${code ?? (err as Error).message})`, { cause: err });
      exists = false;
    }
    if (exists) {
      // SQLite silently opens a file it cannot write read-only: find out now, not at the first decision.
      for (const [p, mode, what] of [[abs, constants.R_OK | constants.W_OK, 'read and write'], [dirname(abs), constants.W_OK | constants.X_OK, 'create files in']] as const) {
        try {
          accessSync(p, mode);
        } catch (err) {
          throw new ProtectionError('STORE_UNREADABLE', `${description}: this user may not ${what} ${p} (${(err as NodeJS.ErrnoException).code})`, { cause: err });
        }
      }
    }
    if (!exists) {
      if (existsSync(`${abs}-wal`)) throw new ProtectionError('STORE_CORRUPT', `${description} is missing but its write-ahead log ${abs}-wal is there (refusing to start empty)`);
      if (!options.create) throw new ProtectionError('STORE_MISSING', `${description} does not exist (create it on first start, or import the validator's protection state)`);
      try {
        createStoreFile(abs);
      } catch (err) {
        throw classify(err, description, 'creating the store');
      }
    }
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(abs, { timeout: options.busyTimeoutMs ?? 10_000 });
    } catch (err) {
      throw classify(err, description, 'opening');
    }
    try {
      const mode = db.prepare('PRAGMA journal_mode=WAL').get() as { journal_mode?: string } | undefined;
      if (mode?.journal_mode !== 'wal') throw new ProtectionError('STORE_UNREADABLE', `${description} cannot use WAL mode (journal_mode is ${mode?.journal_mode})`);
      db.exec('PRAGMA synchronous=FULL');
      // Keep the working set in memory: one 4 KiB page per slot row that holds a signature.
      db.exec(`PRAGMA cache_size=-${PAGE_CACHE_KIB}`);
      const sync = db.prepare('PRAGMA synchronous').get() as { synchronous?: number } | undefined;
      if (sync?.synchronous !== 2) throw new ProtectionError('STORE_UNSAFE', `${description} did not accept synchronous=FULL`);
      const check = db.prepare('PRAGMA quick_check').all() as Array<{ quick_check?: string }>;
      if (check.length !== 1 || check[0]?.quick_check !== 'ok') {
        throw new ProtectionError('STORE_CORRUPT', `${description} failed its integrity check: ${check.slice(0, 3).map((r) => r.quick_check).join('; ')}`);
      }
      const tables = (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
      const meta = tables.includes(TABLE_META)
        ? new Map((db.prepare(`SELECT key, value FROM ${TABLE_META}`).all() as Array<{ key: string; value: string }>).map((r) => [String(r.key), String(r.value)]))
        : null;
      checkMeta(meta, tables, description);
      const store = new SqliteProtectionStore(abs, db, options);
      store.#verifyAll();
      return store;
    } catch (err) {
      db.close();
      throw classify(err, description, 'checking the store');
    }
  }

  /** Decodes every row: a store with one bad row is refused as a whole. */
  #verifyAll(): void {
    for (const row of this.#open().prepare(SELECT_ROWS).iterate()) decodeRow(row as unknown as StoredRow);
  }

  #open(): DatabaseSync {
    if (!this.#db) throw new ProtectionError('STORE_CLOSED', `${this.description} is closed`);
    return this.#db;
  }

  #scopeId(scope: ProtectionScope, fresh: Map<string, number>): number {
    const key = scopeKey(scope);
    const known = this.#scopeIds.get(key) ?? fresh.get(key);
    if (known !== undefined) return known;
    const s = encodeScope(scope);
    this.#stmt.insertScope.run(s.chain_id, s.validator_id, s.key_role);
    const row = this.#stmt.scopeId.get(s.chain_id, s.validator_id, s.key_role) as { id: number } | undefined;
    if (!row) throw new ProtectionError('STORE_FAILURE', `${this.description}: scope ${key} was not created`);
    fresh.set(key, row.id);
    return row.id;
  }

  protected async transact<T>(slots: readonly SlotRef[], body: TransactionBody<T>): Promise<T> {
    const db = this.#open();
    const fresh = new Map<string, number>();
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw classify(err, this.description, 'starting a transaction');
    }
    try {
      const version = Number((this.#stmt.dataVersion.get() as { data_version: number | bigint }).data_version);
      if (version !== this.#dataVersion || this.#cache.size > CACHE_LIMIT) {
        this.#cache.clear(); // another connection committed (or the cache is full): read again
        this.#dataVersion = version;
      }
      const rows = new Map<string, SlotRecord>();
      for (const ref of slots) {
        const key = slotKey(ref.scope, ref.kind, ref.subject);
        if (rows.has(key)) continue;
        let rec = this.#cache.get(key);
        if (rec === undefined) {
          const row = this.#stmt.select.get(this.#scopeId(ref.scope, fresh), ref.kind, ref.subject === null ? '' : ref.subject.toString());
          rec = row ? decodeRow(row as unknown as StoredRow) : null;
          this.#cache.set(key, rec);
        }
        if (rec) rows.set(key, rec);
      }
      const { writes, value } = body(rows);
      const now = Date.now();
      for (const w of writes) {
        const r = encodeRow(w.record);
        const scopeId = this.#scopeId(w.record.scope, fresh);
        if (w.slot) this.#stmt.upsertSlot.run(scopeId, r.kind, r.subject, r.height, r.preimage, r.checksum, now);
        if (w.signature) this.#stmt.upsertSignature.run(scopeId, r.kind, r.subject, r.checksum, r.signature);
      }
      db.exec('COMMIT');
      for (const [k, id] of fresh) this.#scopeIds.set(k, id);
      for (const w of writes) this.#cache.set(slotKey(w.record.scope, w.record.kind, w.record.subject), w.record);
      return value;
    } catch (err) {
      this.#cache.clear();
      this.#dataVersion = -1;
      try {
        db.exec('ROLLBACK');
      } catch {
        // no transaction left to roll back
      }
      throw classify(err, this.description, 'running a transaction');
    }
  }

  protected async readRows(filter: ExportFilter): Promise<StoredRow[]> {
    const rows = this.#open().prepare(SELECT_ROWS).all() as unknown as StoredRow[];
    return filterRows(rows, filter);
  }

  protected async closeBackend(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    db?.close();
  }

  /** For tests and diagnostics: the schema version this build writes. */
  static readonly schemaVersion = PROTECTION_SCHEMA_VERSION;
}
