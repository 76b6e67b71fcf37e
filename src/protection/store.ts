// The ProtectionStore interface and the machinery both stores share: group
// commit of decisions and signature writes into one transaction, the policy
// applied inside it, import by merge, and the stored-row codec with its
// checksum and consistency checks. A store subclass only supplies "run this
// body in one locked, durable transaction over these slots" and a full read.

import type { MessageKind } from '../preimage/layouts.ts';
import { ProtectionError } from './errors.ts';
import { GroupCommitter } from './group-commit.ts';
import { batchSize, storeFailures } from './metrics.ts';
import { attachSignature, CONSENSUS_KINDS, decideRequest, mergeRecord, type MergeOutcome, type ProtectionDecision } from './policy.ts';
import { checkRecordConsistency, isKeyRole, recordChecksum, recordKey, slotKey, type ProtectionScope, type SlotRecord, type SlotRequest } from './records.ts';
import { MESSAGE_KINDS } from '../preimage/layouts.ts';
import { formatChainId, parseChainId } from '../preimage/chain-id.ts';
import { parseU64Decimal } from '../preimage/u64.ts';

export type StoreBackend = 'sqlite' | 'postgres';

export interface ExportFilter {
  chainId?: bigint;
  validatorIds?: readonly bigint[];
}

export type ImportSummary = Record<MergeOutcome, number>;

export interface ProtectionStore {
  readonly backend: StoreBackend;
  /** Where the store is, without credentials (for logs and messages). */
  readonly description: string;
  /**
   * Decides a request under the policy. When it resolves to 'sign', the
   * record is durable (committed and fsync'd); the caller may then sign.
   */
  decide(request: SlotRequest): Promise<ProtectionDecision>;
  /**
   * Keeps a released signature so an identical retry replays it: at once in
   * memory, durably with the next signature flush (SIGNATURE_FLUSH_MS later,
   * coalesced per slot, and at close). Only the latest signature of a slot
   * can ever be replayed, so a superseded one is never written.
   */
  recordSignature(request: SlotRequest, signature: Uint8Array): Promise<void>;
  /** Every record (optionally of one chain / some validators), sorted. */
  exportRecords(filter?: ExportFilter): Promise<SlotRecord[]>;
  /** Merges records by maximum in one transaction; all or nothing. */
  importRecords(records: readonly SlotRecord[]): Promise<ImportSummary>;
  /** Runs an empty write transaction: resolves only when the store is open, healthy and can commit (health checks). */
  probe(): Promise<void>;
  close(): Promise<void>;
}

export interface SlotRef {
  readonly scope: ProtectionScope;
  readonly kind: MessageKind;
  readonly subject: bigint | null;
}

/** A record as stored: every integer as decimal text (u64 does not fit SQL integers), the chain id as 0x-hex. */
export interface StoredRow {
  chain_id: string;
  validator_id: string;
  key_role: string;
  kind: string;
  subject: string;
  height: string;
  preimage: Uint8Array | null;
  signature: Uint8Array | null;
  checksum: Uint8Array | null;
}

export function encodeScope(scope: ProtectionScope): { chain_id: string; validator_id: string; key_role: string } {
  return { chain_id: formatChainId(scope.chainId), validator_id: scope.validatorId.toString(), key_role: scope.keyRole };
}

export function encodeRow(r: SlotRecord): StoredRow {
  return {
    ...encodeScope(r.scope),
    kind: r.kind,
    subject: r.subject === null ? '' : r.subject.toString(),
    height: r.height.toString(),
    preimage: r.preimage,
    signature: r.signature,
    checksum: recordChecksum(r),
  };
}

function u64(text: string, what: string): bigint {
  const v = parseU64Decimal(text);
  if (v === null) throw new ProtectionError('STORE_CORRUPT', `protection store row has an invalid ${what} '${String(text)}'`);
  return v;
}

/** Decodes and verifies a stored row; any inconsistency is STORE_CORRUPT (never trusted, never repaired). */
export function decodeRow(row: StoredRow): SlotRecord {
  let chainId: bigint;
  try {
    chainId = parseChainId(row.chain_id);
  } catch {
    throw new ProtectionError('STORE_CORRUPT', `protection store row has an invalid chain id '${String(row.chain_id)}'`);
  }
  if (!isKeyRole(row.key_role)) throw new ProtectionError('STORE_CORRUPT', `protection store row has an unknown key role '${String(row.key_role)}'`);
  if (!(MESSAGE_KINDS as readonly string[]).includes(row.kind)) throw new ProtectionError('STORE_CORRUPT', `protection store row has an unknown kind '${String(row.kind)}'`);
  const bytes = (v: Uint8Array | null): Uint8Array | null => (v === null ? null : new Uint8Array(v));
  const rec: SlotRecord = {
    scope: { chainId, validatorId: u64(row.validator_id, 'validator id'), keyRole: row.key_role },
    kind: row.kind as MessageKind,
    subject: row.subject === '' ? null : u64(row.subject, 'batch author'),
    height: u64(row.height, 'height'),
    preimage: bytes(row.preimage),
    signature: bytes(row.signature),
  };
  const where = `protection store row ${recordKey(rec)}`;
  if (!row.checksum || Buffer.compare(recordChecksum(rec), row.checksum) !== 0) {
    throw new ProtectionError('STORE_CORRUPT', `${where}: checksum mismatch (the row was altered or damaged)`);
  }
  checkRecordConsistency(rec, 'STORE_CORRUPT', where);
  return rec;
}

/** The slots a decision or signature write reads: a consensus decision reads every slot the policy compares it with. */
export function slotsFor(req: SlotRequest, op: 'decide' | 'signature'): SlotRef[] {
  if (op === 'decide' && CONSENSUS_KINDS.includes(req.kind)) return CONSENSUS_KINDS.map((kind) => ({ scope: req.scope, kind, subject: null }));
  return [{ scope: req.scope, kind: req.kind, subject: req.subject }];
}

/**
 * A record to store: `slot` when its height or preimage changed (the slot row
 * is written), `signature` when a signature is to be attached to it (the
 * signature row is written, tagged with the record's checksum).
 */
export interface RowWrite {
  record: SlotRecord;
  slot: boolean;
  signature: boolean;
}

export type TransactionBody<T> = (rows: ReadonlyMap<string, SlotRecord>) => { writes: RowWrite[]; value: T };

/** Collects the writes of one transaction, one per slot, and keeps the working view of the rows. */
class WriteSet {
  readonly working: Map<string, SlotRecord>;
  readonly #writes = new Map<string, RowWrite>();

  constructor(rows: ReadonlyMap<string, SlotRecord>) {
    this.working = new Map(rows);
  }

  put(record: SlotRecord, what: 'slot' | 'signature'): void {
    const key = recordKey(record);
    const before = this.#writes.get(key);
    this.working.set(key, record);
    this.#writes.set(key, {
      record,
      slot: what === 'slot' || (before?.slot ?? false),
      signature: record.signature !== null && (what === 'signature' || (before?.signature ?? false)),
    });
  }

  get writes(): RowWrite[] {
    return [...this.#writes.values()];
  }
}

type StoreOp = { type: 'decide'; request: SlotRequest } | { type: 'signatures' };

interface PendingSignature {
  request: SlotRequest;
  signature: Uint8Array;
}

/** How long a released signature waits in memory before it is written to the store. */
export const SIGNATURE_FLUSH_MS = 100;

type OpResult = ProtectionDecision | null;

const PERMANENT: ReadonlySet<string> = new Set(['STORE_CORRUPT', 'STORE_VERSION_TOO_NEW', 'STORE_FOREIGN', 'STORE_UNSAFE']);

/** Shared implementation of ProtectionStore over one transactional backend. */
export abstract class BatchedProtectionStore implements ProtectionStore {
  abstract readonly backend: StoreBackend;
  abstract readonly description: string;
  readonly #committer: GroupCommitter<StoreOp, OpResult>;
  #failure: ProtectionError | null = null;
  #closed = false;
  /** Released signatures not yet written, latest per slot. */
  readonly #pendingSignatures = new Map<string, PendingSignature>();
  #signatureFlush: 'none' | 'timer' | 'queued' = 'none';
  #signatureTimer: NodeJS.Timeout | null = null;

  constructor(options: { maxBatch?: number } = {}) {
    this.#committer = new GroupCommitter((ops) => this.#runBatch(ops), options);
  }

  /**
   * Runs `body` in one transaction that holds exclusive locks over the scopes
   * of `slots`, loads those slots (decoded with decodeRow, with the signature
   * whose record checksum matches), stores the writes it returns and commits
   * durably before resolving.
   */
  protected abstract transact<T>(slots: readonly SlotRef[], body: TransactionBody<T>): Promise<T>;
  protected abstract readRows(filter: ExportFilter): Promise<StoredRow[]>;
  protected abstract closeBackend(): Promise<void>;

  /** Group-commit statistics (batches, operations, largest batch). */
  get commitStats(): Readonly<{ batches: number; ops: number; largestBatch: number }> {
    return this.#committer.stats;
  }

  decide(request: SlotRequest): Promise<ProtectionDecision> {
    return this.#committer.submit({ type: 'decide', request }) as Promise<ProtectionDecision>;
  }

  async recordSignature(request: SlotRequest, signature: Uint8Array): Promise<void> {
    if (this.#closed) return;
    this.#pendingSignatures.set(recordKey(request), { request, signature });
    if (this.#signatureFlush !== 'none') return;
    this.#scheduleSignatureFlush();
  }

  /** Not written at once: a slot that moves on within the delay never needs its old signature written. */
  #scheduleSignatureFlush(): void {
    this.#signatureFlush = 'timer';
    this.#signatureTimer = setTimeout(() => void this.#queueSignatureFlush(), SIGNATURE_FLUSH_MS);
    this.#signatureTimer.unref();
  }

  #queueSignatureFlush(): Promise<void> {
    if (this.#signatureTimer) clearTimeout(this.#signatureTimer);
    this.#signatureTimer = null;
    this.#signatureFlush = 'queued';
    return this.#committer.submit({ type: 'signatures' }).then(
      () => undefined,
      () => undefined, // the batch failed: its requests were refused; a lost signature only means a retry signs again
    ).finally(() => {
      this.#signatureFlush = 'none';
      // Signatures recorded while this flush's transaction ran were not in it: schedule them.
      if (this.#pendingSignatures.size > 0 && !this.#closed) this.#scheduleSignatureFlush();
    });
  }

  /** The stored record, with a released signature not yet written overlaid. */
  #withPending(rec: SlotRecord | undefined): SlotRecord | undefined {
    if (!rec || rec.signature !== null) return rec;
    const p = this.#pendingSignatures.get(recordKey(rec));
    return p ? (attachSignature(p.request, p.signature, rec) ?? rec) : rec;
  }

  async #runBatch(ops: readonly StoreOp[]): Promise<OpResult[]> {
    if (this.#failure) throw this.#failure;
    let signatures: PendingSignature[] = [];
    if (ops.some((op) => op.type === 'signatures')) {
      signatures = [...this.#pendingSignatures.values()];
      this.#pendingSignatures.clear();
    }
    const slots = [
      ...ops.flatMap((op) => (op.type === 'decide' ? slotsFor(op.request, 'decide') : [])),
      ...signatures.flatMap((p) => slotsFor(p.request, 'signature')),
    ];
    batchSize.observe({ store: this.backend }, ops.length);
    try {
      return await this.transact(slots, (rows) => {
        const set = new WriteSet(rows);
        // Signatures first: a decision in this batch may replay one.
        for (const p of signatures) {
          const rec = attachSignature(p.request, p.signature, set.working.get(recordKey(p.request)));
          if (rec) set.put(rec, 'signature');
        }
        const value = ops.map((op): OpResult => {
          if (op.type === 'signatures') return null;
          const req = op.request;
          const outcome = decideRequest(req, (kind, subject) => this.#withPending(set.working.get(slotKey(req.scope, kind, subject))));
          if (outcome.write) set.put(outcome.write, 'slot');
          return outcome.decision;
        });
        return { writes: set.writes, value };
      });
    } catch (err) {
      storeFailures.inc({ store: this.backend });
      throw this.#noteFailure(err);
    }
  }

  #noteFailure(err: unknown): ProtectionError {
    const e = err instanceof ProtectionError ? err : new ProtectionError('STORE_FAILURE', `protection store ${this.description} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    if (PERMANENT.has(e.code)) this.#failure ??= e;
    return e;
  }

  async exportRecords(filter: ExportFilter = {}): Promise<SlotRecord[]> {
    this.#checkOpen();
    let rows: StoredRow[];
    try {
      rows = await this.readRows(filter);
    } catch (err) {
      throw this.#noteFailure(err);
    }
    const records = rows.map(decodeRow);
    return records.sort(compareRecords);
  }

  async importRecords(records: readonly SlotRecord[]): Promise<ImportSummary> {
    this.#checkOpen();
    for (const r of records) checkRecordConsistency(r, 'INTERCHANGE_INVALID', `imported record ${recordKey(r)}`);
    try {
      return await this.transact(records, (rows) => {
        const set = new WriteSet(rows);
        const summary: ImportSummary = { added: 0, raised: 0, unchanged: 0, blocked: 0 };
        for (const r of records) {
          const { outcome, write } = mergeRecord(set.working.get(recordKey(r)), r);
          summary[outcome]++;
          if (write) set.put(write, 'slot');
        }
        return { writes: set.writes, value: summary };
      });
    } catch (err) {
      throw this.#noteFailure(err);
    }
  }

  async probe(): Promise<void> {
    this.#checkOpen();
    try {
      await this.transact([], () => ({ writes: [], value: undefined }));
    } catch (err) {
      throw this.#noteFailure(err);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new ProtectionError('STORE_CLOSED', `protection store ${this.description} is closed`);
    if (this.#failure) throw this.#failure;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#pendingSignatures.size > 0 && !this.#failure) await this.#queueSignatureFlush();
    if (this.#signatureTimer) clearTimeout(this.#signatureTimer);
    this.#closed = true;
    await this.#committer.close(new ProtectionError('STORE_CLOSED', `protection store ${this.description} is closed`));
    await this.closeBackend();
  }
}

const KIND_ORDER = new Map(MESSAGE_KINDS.map((k, i) => [k, i]));

function cmp(a: bigint | string | number, b: bigint | string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareRecords(a: SlotRecord, b: SlotRecord): number {
  return (
    cmp(a.scope.chainId, b.scope.chainId) ||
    cmp(a.scope.validatorId, b.scope.validatorId) ||
    cmp(a.scope.keyRole, b.scope.keyRole) ||
    cmp(KIND_ORDER.get(a.kind)!, KIND_ORDER.get(b.kind)!) ||
    cmp(a.subject ?? -1n, b.subject ?? -1n)
  );
}

/** Scopes of some slots, unique, in a fixed order (the lock order of every transaction). */
export function scopesOf(slots: readonly SlotRef[]): ProtectionScope[] {
  const byKey = new Map<string, ProtectionScope>();
  for (const s of slots) byKey.set(`${s.scope.chainId}/${s.scope.validatorId}/${s.scope.keyRole}`, s.scope);
  return [...byKey.values()].sort((a, b) => cmp(a.chainId, b.chainId) || cmp(a.validatorId, b.validatorId) || cmp(a.keyRole, b.keyRole));
}

/** Applies an export filter to stored rows. */
export function filterRows(rows: StoredRow[], filter: ExportFilter): StoredRow[] {
  const chain = filter.chainId === undefined ? null : formatChainId(filter.chainId);
  const validators = filter.validatorIds ? new Set(filter.validatorIds.map(String)) : null;
  return rows.filter((r) => (chain === null || r.chain_id === chain) && (validators === null || validators.has(r.validator_id)));
}
