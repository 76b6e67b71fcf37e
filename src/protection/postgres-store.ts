// PostgresProtectionStore: protection state in PostgreSQL, so several signer
// instances behind one address share it. Each group-committed batch is one
// transaction that first locks the scope rows it touches (SELECT ... FOR
// UPDATE, in a fixed order, so instances never deadlock), then reads, decides
// and writes; a commit returns only once PostgreSQL has flushed it (the store
// refuses a server with fsync=off and never runs with synchronous_commit=off).

import pg from 'pg';
import { ProtectionError } from './errors.ts';
import { TABLE_META, TABLE_SCOPES, TABLE_SIGNATURES, TABLE_SLOTS, checkMeta, initialMeta } from './schema.ts';
import { BatchedProtectionStore, decodeRow, encodeRow, encodeScope, filterRows, scopesOf, type ExportFilter, type SlotRef, type StoredRow, type TransactionBody } from './store.ts';
import { scopeKey, slotKey, type ProtectionScope, type SlotRecord } from './records.ts';

export interface PostgresStoreOptions {
  /** Create the tables when the database has none of them (default false: a missing store is an error). */
  create?: boolean;
  /** Largest group-commit batch (default 1024). */
  maxBatch?: number;
  /** Connection timeout in ms (default 10000). */
  connectTimeoutMs?: number;
  /** Lock wait limit in ms for one transaction (default 10000). */
  lockTimeoutMs?: number;
}

const SCHEMA = `
CREATE TABLE ${TABLE_META} (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE ${TABLE_SCOPES} (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chain_id TEXT NOT NULL,
  validator_id TEXT NOT NULL,
  key_role TEXT NOT NULL,
  UNIQUE (chain_id, validator_id, key_role)
);
CREATE TABLE ${TABLE_SLOTS} (
  scope_id BIGINT NOT NULL REFERENCES ${TABLE_SCOPES}(id),
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  height TEXT NOT NULL,
  preimage BYTEA,
  checksum BYTEA NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, kind, subject)
);
CREATE TABLE ${TABLE_SIGNATURES} (
  scope_id BIGINT NOT NULL REFERENCES ${TABLE_SCOPES}(id),
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  record_checksum BYTEA NOT NULL,
  signature BYTEA NOT NULL,
  PRIMARY KEY (scope_id, kind, subject)
);
`;

/** Slot rows with their scope and the signature stored for exactly that record (matched by checksum). */
const SIGNATURE_JOIN = `LEFT JOIN ${TABLE_SIGNATURES} g ON g.scope_id = r.scope_id AND g.kind = r.kind AND g.subject = r.subject AND g.record_checksum = r.checksum`;
const SELECT_ROWS = `SELECT s.chain_id, s.validator_id, s.key_role, r.kind, r.subject, r.height, r.preimage, g.signature, r.checksum
  FROM ${TABLE_SLOTS} r JOIN ${TABLE_SCOPES} s ON s.id = r.scope_id ${SIGNATURE_JOIN}`;

// Named statements: parsed and planned once per connection.
const LOCK_SCOPES = `SELECT id FROM ${TABLE_SCOPES} WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`;
const LOAD_SLOTS = `SELECT r.scope_id::text AS scope_id, r.kind, r.subject, r.height, r.preimage, g.signature, r.checksum
  FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(sid, k, sub)
  JOIN ${TABLE_SLOTS} r ON r.scope_id = u.sid AND r.kind = u.k AND r.subject = u.sub ${SIGNATURE_JOIN}`;
const UPSERT_SLOTS = `INSERT INTO ${TABLE_SLOTS}(scope_id, kind, subject, height, preimage, checksum)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[])
  ON CONFLICT (scope_id, kind, subject) DO UPDATE SET height = EXCLUDED.height, preimage = EXCLUDED.preimage,
    checksum = EXCLUDED.checksum, updated_at = now()`;
const UPSERT_SIGNATURES = `INSERT INTO ${TABLE_SIGNATURES}(scope_id, kind, subject, record_checksum, signature)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::bytea[])
  ON CONFLICT (scope_id, kind, subject) DO UPDATE SET record_checksum = EXCLUDED.record_checksum, signature = EXCLUDED.signature`;

/** Advisory lock key serializing schema creation across instances ('qbindpro' as ASCII). */
const CREATE_LOCK = '8170201384489414255';
const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock detected
const MAX_ATTEMPTS = 5;

/**
 * A URL without its password (user:password@ and ?password=), for messages.
 * The userinfo ends at the LAST '@' before the path, as URL parsers (and pg) read it,
 * so a password containing '@' is hidden whole.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^/?#]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

function pgDetail(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e?.code ? `${e.message} [${e.code}]` : (e?.message ?? String(err));
}

export class PostgresProtectionStore extends BatchedProtectionStore {
  readonly backend = 'postgres' as const;
  readonly description: string;
  readonly #url: string;
  readonly #options: PostgresStoreOptions;
  #client: pg.Client | null = null;
  #broken = false;
  #closedBackend = false;
  /** One transaction at a time on the one connection. */
  #tail: Promise<unknown> = Promise.resolve();
  readonly #scopeIds = new Map<string, string>();

  private constructor(url: string, options: PostgresStoreOptions) {
    super({ maxBatch: options.maxBatch ?? 1024 });
    this.#url = url;
    this.#options = options;
    this.description = `PostgreSQL store ${redactUrl(url)}`;
  }

  /**
   * Connects and checks the store: refuses a server with fsync=off, a
   * database without the tables (unless create), a newer schema version,
   * a damaged meta table and any row whose checksum or preimage is wrong.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresProtectionStore> {
    const store = new PostgresProtectionStore(url, options);
    try {
      const client = await store.#connect();
      await store.#prepareSchema(client);
      const rows = await client.query(SELECT_ROWS);
      for (const row of rows.rows) decodeRow(row as StoredRow);
      return store;
    } catch (err) {
      await store.closeBackend();
      throw store.#classify(err, 'opening');
    }
  }

  #classify(err: unknown, doing: string): ProtectionError {
    if (err instanceof ProtectionError) return err;
    const code = (err as { code?: string })?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ETIMEDOUT' || code === 'EACCES' || code === '28P01' || code === '28000' || code === '3D000' || code === '42501') {
      return new ProtectionError('STORE_UNREADABLE', `${this.description} cannot be reached or read (${pgDetail(err)}) while ${doing}`, { cause: err });
    }
    return new ProtectionError('STORE_FAILURE', `${this.description} failed (${pgDetail(err)}) while ${doing}`, { cause: err });
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client && !this.#broken) return this.#client;
    if (this.#client) {
      const old = this.#client;
      this.#client = null;
      await old.end().catch(() => undefined);
    }
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#options.connectTimeoutMs ?? 10_000,
      lock_timeout: this.#options.lockTimeoutMs ?? 10_000,
      application_name: 'qbind-protection',
    });
    client.on('error', () => {
      this.#broken = true;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.#broken = false;
    this.#client = client;
    const fsync = (await client.query('SHOW fsync')).rows[0]?.fsync;
    if (fsync !== 'on') throw new ProtectionError('STORE_UNSAFE', `${this.description}: the server runs with fsync=${fsync}; commits would not be durable`);
    const sync = (await client.query('SHOW synchronous_commit')).rows[0]?.synchronous_commit;
    if (sync === 'off') await client.query('SET synchronous_commit = on');
    return client;
  }

  async #prepareSchema(client: pg.Client): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(${CREATE_LOCK})`);
      const listTables = async (): Promise<string[]> =>
        (
          await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'qbind\\_protection\\_%' ORDER BY table_name`)
        ).rows.map((r: { table_name: string }) => r.table_name);
      let tables = await listTables();
      if (tables.length === 0) {
        if (!this.#options.create) throw new ProtectionError('STORE_MISSING', `${this.description} has no protection tables (create them on first start, or import the validator's protection state)`);
        await client.query(SCHEMA);
        for (const [k, v] of initialMeta()) await client.query(`INSERT INTO ${TABLE_META}(key, value) VALUES ($1, $2)`, [k, v]);
        tables = await listTables();
      }
      const meta = tables.includes(TABLE_META)
        ? new Map((await client.query(`SELECT key, value FROM ${TABLE_META}`)).rows.map((r: { key: string; value: string }) => [r.key, r.value]))
        : null;
      checkMeta(meta, tables, this.description);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Runs `fn` after every earlier call on this store's connection has finished. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #scopeIdsFor(client: pg.Client, scopes: readonly ProtectionScope[]): Promise<string[]> {
    const missing = scopes.filter((s) => !this.#scopeIds.has(scopeKey(s)));
    if (missing.length > 0) {
      const cols = missing.map(encodeScope);
      const args = [cols.map((c) => c.chain_id), cols.map((c) => c.validator_id), cols.map((c) => c.key_role)];
      // Outside the decision transaction: creating an empty scope row is harmless and commits at once.
      await client.query(
        `INSERT INTO ${TABLE_SCOPES}(chain_id, validator_id, key_role)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING`,
        args,
      );
      const found = await client.query(
        `SELECT s.id::text AS id, s.chain_id, s.validator_id, s.key_role FROM ${TABLE_SCOPES} s
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS u(c, v, r) ON s.chain_id = u.c AND s.validator_id = u.v AND s.key_role = u.r`,
        args,
      );
      const idByColumns = new Map((found.rows as Array<{ id: string; chain_id: string; validator_id: string; key_role: string }>).map((r) => [`${r.chain_id}|${r.validator_id}|${r.key_role}`, r.id]));
      for (const s of missing) {
        const e = encodeScope(s);
        const id = idByColumns.get(`${e.chain_id}|${e.validator_id}|${e.key_role}`);
        if (id !== undefined) this.#scopeIds.set(scopeKey(s), id);
      }
    }
    return scopes.map((s) => {
      const id = this.#scopeIds.get(scopeKey(s));
      if (id === undefined) throw new ProtectionError('STORE_FAILURE', `${this.description}: scope ${scopeKey(s)} was not created`);
      return id;
    });
  }

  protected transact<T>(slots: readonly SlotRef[], body: TransactionBody<T>): Promise<T> {
    return this.#serial(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#transactOnce(slots, body);
        } catch (err) {
          const code = (err as { code?: string })?.code;
          if (code !== undefined && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
          throw this.#classify(err, 'running a transaction');
        }
      }
    });
  }

  async #transactOnce<T>(slots: readonly SlotRef[], body: TransactionBody<T>): Promise<T> {
    if (this.#closedBackend) throw new ProtectionError('STORE_CLOSED', `${this.description} is closed`);
    const client = await this.#connect();
    const scopes = scopesOf(slots);
    const ids = await this.#scopeIdsFor(client, scopes);
    const idOf = new Map(scopes.map((s, i) => [scopeKey(s), ids[i]!]));
    await client.query('BEGIN');
    try {
      // Lock order: ascending scope id, the same in every instance.
      await client.query({ name: 'qbind-protection-lock', text: LOCK_SCOPES, values: [[...new Set(ids)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))] });
      const keys = new Map<string, SlotRef>();
      for (const s of slots) keys.set(slotKey(s.scope, s.kind, s.subject), s);
      const refs = [...keys.values()];
      const loaded = await client.query({
        name: 'qbind-protection-load',
        text: LOAD_SLOTS,
        values: [refs.map((r) => idOf.get(scopeKey(r.scope))), refs.map((r) => r.kind), refs.map((r) => (r.subject === null ? '' : r.subject.toString()))],
      });
      const scopeById = new Map(scopes.map((sc, i) => [ids[i]!, encodeScope(sc)]));
      const rows = new Map<string, SlotRecord>();
      for (const row of loaded.rows as Array<Omit<StoredRow, 'chain_id' | 'validator_id' | 'key_role'> & { scope_id: string }>) {
        const { scope_id, ...slot } = row;
        const rec = decodeRow({ ...scopeById.get(scope_id)!, ...slot });
        rows.set(slotKey(rec.scope, rec.kind, rec.subject), rec);
      }
      const { writes, value } = body(rows);
      const slotWrites = writes.filter((w) => w.slot).map((w) => ({ id: idOf.get(scopeKey(w.record.scope)), row: encodeRow(w.record) }));
      const sigWrites = writes.filter((w) => w.signature).map((w) => ({ id: idOf.get(scopeKey(w.record.scope)), row: encodeRow(w.record) }));
      if (slotWrites.length > 0) {
        await client.query({
          name: 'qbind-protection-upsert-slots',
          text: UPSERT_SLOTS,
          values: [
            slotWrites.map((w) => w.id),
            slotWrites.map((w) => w.row.kind),
            slotWrites.map((w) => w.row.subject),
            slotWrites.map((w) => w.row.height),
            slotWrites.map((w) => (w.row.preimage ? Buffer.from(w.row.preimage) : null)),
            slotWrites.map((w) => Buffer.from(w.row.checksum!)),
          ],
        });
      }
      if (sigWrites.length > 0) {
        await client.query({
          name: 'qbind-protection-upsert-signatures',
          text: UPSERT_SIGNATURES,
          values: [
            sigWrites.map((w) => w.id),
            sigWrites.map((w) => w.row.kind),
            sigWrites.map((w) => w.row.subject),
            sigWrites.map((w) => Buffer.from(w.row.checksum!)),
            sigWrites.map((w) => Buffer.from(w.row.signature!)),
          ],
        });
      }
      await client.query('COMMIT');
      return value;
    } catch (err) {
      if (!this.#broken) await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  protected readRows(filter: ExportFilter): Promise<StoredRow[]> {
    return this.#serial(async () => {
      try {
        const client = await this.#connect();
        const rows = (await client.query(SELECT_ROWS)).rows as StoredRow[];
        return filterRows(rows, filter);
      } catch (err) {
        throw this.#classify(err, 'reading every record');
      }
    });
  }

  protected async closeBackend(): Promise<void> {
    this.#closedBackend = true;
    await this.#tail;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }
}
