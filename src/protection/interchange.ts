// The protection interchange format (docs/protection-interchange.md), in the
// spirit of EIP-3076: versioned JSON listing, per chain, validator and key
// role, the last signed height of every slot with its preimage. Decoding is
// strict and complete before anything is imported, so a bad file changes
// nothing; importing merges by maximum and never lowers a watermark.

import { formatChainId, parseChainId } from '../preimage/chain-id.ts';
import { MESSAGE_KINDS, type MessageKind } from '../preimage/layouts.ts';
import { ProtectionError } from './errors.ts';
import { checkRecordConsistency, isKeyRole, KEY_ROLES, type ProtectionScope, type SlotRecord } from './records.ts';
import { compareRecords, scopesOf, type ExportFilter, type ImportSummary, type ProtectionStore } from './store.ts';
import { parseU64Decimal } from '../preimage/u64.ts';

export const INTERCHANGE_FORMAT = 'qbind-signing-protection';
export const INTERCHANGE_VERSION = '1';

interface SignedEntryJson {
  kind: MessageKind;
  view?: string;
  round?: string;
  batch_author_id?: string;
  preimage: string | null;
}

interface DataEntryJson {
  chain_id: string;
  validator_id: string;
  key_role: string;
  signed: SignedEntryJson[];
}

export interface InterchangeJson {
  metadata: { interchange_format: string; interchange_format_version: string; exported_at?: string };
  data: DataEntryJson[];
}

const HEIGHT_FIELD: Record<MessageKind, 'view' | 'round'> = { proposal: 'view', vote: 'view', timeout: 'view', batch: 'round', 'batch-ack': 'round' };

/** Builds the interchange document of some records (signatures are never exported). */
export function buildInterchange(records: readonly SlotRecord[], exportedAt: Date = new Date()): InterchangeJson {
  const sorted = [...records].sort(compareRecords);
  const data: DataEntryJson[] = [];
  for (const scope of scopesOf(sorted)) {
    const mine = sorted.filter((r) => r.scope.chainId === scope.chainId && r.scope.validatorId === scope.validatorId && r.scope.keyRole === scope.keyRole);
    data.push({
      chain_id: formatChainId(scope.chainId),
      validator_id: scope.validatorId.toString(),
      key_role: scope.keyRole,
      signed: mine.map((r) => ({
        kind: r.kind,
        ...(r.kind === 'batch-ack' ? { batch_author_id: String(r.subject) } : {}),
        [HEIGHT_FIELD[r.kind]]: r.height.toString(),
        preimage: r.preimage === null ? null : Buffer.from(r.preimage).toString('hex'),
      })),
    });
  }
  return { metadata: { interchange_format: INTERCHANGE_FORMAT, interchange_format_version: INTERCHANGE_VERSION, exported_at: exportedAt.toISOString() }, data };
}

export function encodeInterchange(records: readonly SlotRecord[], exportedAt?: Date): string {
  return JSON.stringify(buildInterchange(records, exportedAt), null, 2) + '\n';
}

function invalid(path: string, msg: string): never {
  throw new ProtectionError('INTERCHANGE_INVALID', `interchange file: ${path}: ${msg}`);
}

function object(v: unknown, path: string, allowed: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(path, 'must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) invalid(path, `unknown field '${k}' (allowed: ${allowed.join(', ')})`);
  for (const k of required) if (!(k in o)) invalid(path, `missing field '${k}'`);
  return o;
}

function u64(v: unknown, path: string): bigint {
  const n = parseU64Decimal(v);
  if (n === null) return invalid(path, 'must be a decimal string of an unsigned 64-bit integer (JSON numbers lose precision)');
  return n;
}

function hexBytes(v: unknown, path: string): Uint8Array | null {
  if (v === null) return null;
  if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(v)) invalid(path, 'must be null or a non-empty hex string of whole bytes');
  return new Uint8Array(Buffer.from(v as string, 'hex'));
}

/** Parses and checks a whole interchange document; throws INTERCHANGE_INVALID / INTERCHANGE_VERSION. */
export function decodeInterchange(text: string): SlotRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ProtectionError('INTERCHANGE_INVALID', `interchange file is not JSON: ${(err as Error).message}`);
  }
  const top = object(doc, '(top level)', ['metadata', 'data'], ['metadata', 'data']);
  const meta = object(top.metadata, 'metadata', ['interchange_format', 'interchange_format_version', 'exported_at'], ['interchange_format', 'interchange_format_version']);
  if (meta.interchange_format !== INTERCHANGE_FORMAT) invalid('metadata.interchange_format', `must be '${INTERCHANGE_FORMAT}', got ${JSON.stringify(meta.interchange_format)}`);
  if (meta.interchange_format_version !== INTERCHANGE_VERSION) {
    throw new ProtectionError('INTERCHANGE_VERSION', `interchange file: metadata.interchange_format_version is ${JSON.stringify(meta.interchange_format_version)}; this build reads version "${INTERCHANGE_VERSION}"`);
  }
  if ('exported_at' in meta && (typeof meta.exported_at !== 'string' || Number.isNaN(Date.parse(meta.exported_at)))) invalid('metadata.exported_at', 'must be an ISO 8601 timestamp');
  if (!Array.isArray(top.data)) invalid('data', 'must be an array');
  const records: SlotRecord[] = [];
  (top.data as unknown[]).forEach((entryJson, i) => {
    const path = `data[${i}]`;
    const entry = object(entryJson, path, ['chain_id', 'validator_id', 'key_role', 'signed'], ['chain_id', 'validator_id', 'key_role', 'signed']);
    let chainId: bigint;
    try {
      if (typeof entry.chain_id !== 'string') throw new Error();
      chainId = parseChainId(entry.chain_id);
    } catch {
      return invalid(`${path}.chain_id`, 'must be a chain id string (0x-hex, decimal, devnet, testnet or mainnet)');
    }
    const validatorId = u64(entry.validator_id, `${path}.validator_id`);
    const role = entry.key_role;
    if (typeof role !== 'string' || !isKeyRole(role)) return invalid(`${path}.key_role`, `must be one of ${KEY_ROLES.join(', ')}`);
    const scope: ProtectionScope = { chainId, validatorId, keyRole: role };
    if (!Array.isArray(entry.signed)) invalid(`${path}.signed`, 'must be an array');
    (entry.signed as unknown[]).forEach((s, j) => {
      const sp = `${path}.signed[${j}]`;
      const kindText = (s as { kind?: unknown })?.kind;
      if (typeof kindText !== 'string' || !(MESSAGE_KINDS as readonly string[]).includes(kindText)) invalid(`${sp}.kind`, `must be one of ${MESSAGE_KINDS.join(', ')}`);
      const kind = kindText as MessageKind;
      const hf = HEIGHT_FIELD[kind];
      const fields = kind === 'batch-ack' ? ['kind', hf, 'batch_author_id', 'preimage'] : ['kind', hf, 'preimage'];
      const o = object(s, sp, fields, fields.filter((f) => f !== 'preimage'));
      const record: SlotRecord = {
        scope,
        kind,
        subject: kind === 'batch-ack' ? u64(o.batch_author_id, `${sp}.batch_author_id`) : null,
        height: u64(o[hf], `${sp}.${hf}`),
        preimage: hexBytes(o.preimage ?? null, `${sp}.preimage`),
        signature: null,
      };
      checkRecordConsistency(record, 'INTERCHANGE_INVALID', `interchange file: ${sp}`);
      records.push(record);
    });
  });
  return records;
}

export async function exportInterchange(store: ProtectionStore, filter?: ExportFilter): Promise<string> {
  return encodeInterchange(await store.exportRecords(filter));
}

/** Decodes the whole file first; only a valid file reaches the store, in one transaction. */
export async function importInterchange(store: ProtectionStore, text: string): Promise<ImportSummary & { records: number }> {
  const records = decodeInterchange(text);
  const summary = await store.importRecords(records);
  return { ...summary, records: records.length };
}
