// The protection state's vocabulary: a scope (chain, validator, key role), the
// slot a preimage occupies in it (kind, plus the batch author for acks), the
// record of what was last signed in a slot, and the checksum every stored
// record carries so that a flipped bit in the store is detected, not trusted.

import { hash } from 'node:crypto';
import { formatChainId } from '../preimage/chain-id.ts';
import { MESSAGE_KINDS, type MessageKind } from '../preimage/layouts.ts';
import { heightOf, parsePreimage, signerIdOf, type Preimage } from '../preimage/preimage.ts';
import { ProtectionError } from './errors.ts';

/** Key roles that sign preimages (runbook §6.1); p2p-identity signs none. */
export type KeyRole = 'consensus' | 'batch-signing';
export const KEY_ROLES: readonly KeyRole[] = ['consensus', 'batch-signing'];

/** Kinds each role may sign: the consensus key also signs DAG messages while they share one key (design doc §2.4). */
export const ROLE_KINDS: Readonly<Record<KeyRole, readonly MessageKind[]>> = {
  consensus: ['proposal', 'vote', 'timeout', 'batch', 'batch-ack'],
  'batch-signing': ['batch', 'batch-ack'],
};

export function isKeyRole(text: string): text is KeyRole {
  return (KEY_ROLES as readonly string[]).includes(text);
}

export interface ProtectionScope {
  readonly chainId: bigint;
  readonly validatorId: bigint;
  readonly keyRole: KeyRole;
}

/** One signing request as the store sees it. */
export interface SlotRequest {
  readonly scope: ProtectionScope;
  readonly kind: MessageKind;
  /** The batch author for batch-ack (acks are tracked per author); null for every other kind. */
  readonly subject: bigint | null;
  /** View (proposal, vote, timeout) or DAG round (batch, batch-ack). */
  readonly height: bigint;
  readonly preimage: Uint8Array;
}

/** What was last signed in one slot. A null preimage means "something, unknown what, at this height" (imported watermark). */
export interface SlotRecord {
  readonly scope: ProtectionScope;
  readonly kind: MessageKind;
  readonly subject: bigint | null;
  readonly height: bigint;
  readonly preimage: Uint8Array | null;
  readonly signature: Uint8Array | null;
}

/** The slot a parsed preimage occupies. */
export function slotRequestOf(scope: ProtectionScope, parsed: Preimage, preimage: Uint8Array): SlotRequest {
  return {
    scope,
    kind: parsed.kind,
    subject: parsed.kind === 'batch-ack' ? parsed.batchAuthorId : null,
    height: heightOf(parsed),
    preimage,
  };
}

const scopeKeys = new WeakMap<ProtectionScope, string>();

/** Unique name of a scope (memoized per scope object: a signer reuses one for every request). */
export function scopeKey(scope: ProtectionScope): string {
  let key = scopeKeys.get(scope);
  if (key === undefined) {
    key = `${formatChainId(scope.chainId)}/${scope.validatorId}/${scope.keyRole}`;
    scopeKeys.set(scope, key);
  }
  return key;
}

/** Unique name of a slot: the primary key of a stored record. */
export function slotKey(scope: ProtectionScope, kind: MessageKind, subject: bigint | null): string {
  return `${scopeKey(scope)}/${kind}/${subject ?? ''}`;
}

export function recordKey(r: SlotRecord | SlotRequest): string {
  return slotKey(r.scope, r.kind, r.subject);
}

export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a !== null && b !== null && Buffer.compare(a, b) === 0;
}

/** "view 12" or "round 12" (and the batch author for acks), for messages. */
export function describeSlot(kind: MessageKind, subject: bigint | null, height: bigint): string {
  if (kind === 'batch') return `round ${height}`;
  if (kind === 'batch-ack') return `round ${height} of batch author ${subject}`;
  return `view ${height}`;
}

const CHECKSUM_TAG = Buffer.from('qbind-protection-row-v1', 'ascii');

/**
 * SHA-256 over the record's safety-relevant fields in a fixed binary layout
 * (docs/protection.md "Row checksum"): a damaged height, preimage, slot or
 * scope is detected on load. The stored signature is not covered: a damaged
 * one cannot make the signer release anything that conflicts (peers reject
 * it), and leaving it out keeps attaching a signature cheap.
 */
export function recordChecksum(r: SlotRecord): Buffer {
  // A record and the one made from it by attaching a signature share their preimage object and checksum.
  const memo = r.preimage ? checksumMemo.get(r.preimage) : undefined;
  if (memo && memo.scope === r.scope && memo.kind === r.kind && memo.subject === r.subject && memo.height === r.height) return memo.checksum;
  const checksum = computeChecksum(r);
  if (r.preimage) checksumMemo.set(r.preimage, { scope: r.scope, kind: r.kind, subject: r.subject, height: r.height, checksum });
  return checksum;
}

const checksumMemo = new WeakMap<Uint8Array, { scope: ProtectionScope; kind: MessageKind; subject: bigint | null; height: bigint; checksum: Buffer }>();

function computeChecksum(r: SlotRecord): Buffer {
  const pre = r.preimage;
  const buf = Buffer.allocUnsafe(CHECKSUM_TAG.length + 8 + 8 + 1 + 1 + 9 + 8 + 5 + (pre ? pre.length : 0));
  let off = CHECKSUM_TAG.copy(buf, 0);
  off = buf.writeBigUInt64BE(r.scope.chainId, off);
  off = buf.writeBigUInt64BE(r.scope.validatorId, off);
  off = buf.writeUInt8(KEY_ROLES.indexOf(r.scope.keyRole), off);
  off = buf.writeUInt8(MESSAGE_KINDS.indexOf(r.kind), off);
  off = buf.writeUInt8(r.subject === null ? 0 : 1, off);
  off = buf.writeBigUInt64BE(r.subject ?? 0n, off);
  off = buf.writeBigUInt64BE(r.height, off);
  off = buf.writeUInt8(pre === null ? 0 : 1, off);
  off = buf.writeUInt32BE(pre ? pre.length : 0, off);
  if (pre) buf.set(pre, off);
  return hash('sha256', buf, 'buffer');
}

/**
 * Checks that a record is internally consistent: the preimage (when known)
 * parses and names the record's chain, validator, kind, height and batch
 * author; the role may sign that kind. Throws `code` with `where` in the message.
 */
export function checkRecordConsistency(r: SlotRecord, code: 'STORE_CORRUPT' | 'INTERCHANGE_INVALID', where: string): void {
  const bad = (msg: string): never => {
    throw new ProtectionError(code, `${where}: ${msg}`);
  };
  if (!ROLE_KINDS[r.scope.keyRole].includes(r.kind)) bad(`key role ${r.scope.keyRole} does not sign ${r.kind} messages`);
  if ((r.kind === 'batch-ack') !== (r.subject !== null)) bad(r.kind === 'batch-ack' ? 'a batch-ack record needs the batch author' : `a ${r.kind} record has no batch author`);
  if (r.preimage === null) return;
  let p: Preimage;
  try {
    p = parsePreimage(r.preimage);
  } catch (err) {
    return bad(`the recorded preimage does not parse (${(err as Error).message})`);
  }
  if (p.kind !== r.kind) bad(`the recorded preimage is a ${p.kind}, the record says ${r.kind}`);
  if (p.chainId !== r.scope.chainId) bad(`the recorded preimage is for chain ${formatChainId(p.chainId)}, the record says ${formatChainId(r.scope.chainId)}`);
  if (signerIdOf(p) !== r.scope.validatorId) bad(`the recorded preimage is signed by validator ${signerIdOf(p)}, the record says ${r.scope.validatorId}`);
  if (heightOf(p) !== r.height) bad(`the recorded preimage is at ${describeSlot(p.kind, null, heightOf(p))}, the record says ${r.height}`);
  if (p.kind === 'batch-ack' && p.batchAuthorId !== r.subject) bad(`the recorded preimage acks batch author ${p.batchAuthorId}, the record says ${r.subject}`);
}
