// The double-sign policy (docs/protection.md): given what was last signed in
// the slots a request touches, decide sign / replay / refuse, and how an
// imported record merges with a stored one. Pure functions: both stores run
// exactly this code inside their transaction.

import type { MessageKind } from '../preimage/layouts.ts';
import { describeSlot, sameBytes, type SlotRecord, type SlotRequest } from './records.ts';

export type ProtectionDecision =
  | { readonly verdict: 'sign' }
  | { readonly verdict: 'replay'; readonly signature: Uint8Array }
  | { readonly verdict: 'refuse'; readonly reason: string };

/** The stored record of a slot of the request's scope, if any. */
export type SlotLookup = (kind: MessageKind, subject: bigint | null) => SlotRecord | undefined;

export interface PolicyOutcome {
  readonly decision: ProtectionDecision;
  /** The record to store before the decision is released (null: nothing changes). */
  readonly write: SlotRecord | null;
}

/** Position of a consensus message inside its view: propose, then vote, then time out. */
const STAGE: Partial<Record<MessageKind, number>> = { proposal: 0, vote: 1, timeout: 2 };
/** The kinds ordered within one view; a decision on any of them reads all of their slots (store.ts slotsFor). */
export const CONSENSUS_KINDS: readonly MessageKind[] = ['proposal', 'vote', 'timeout'];

function a(kind: MessageKind): string {
  return kind === 'batch-ack' ? 'a batch-ack' : `a ${kind}`;
}

/** Same-slot rule: heights only go up; at the same height only the identical preimage. */
function sameSlotConflict(req: SlotRequest, own: SlotRecord): string | null {
  const slot = describeSlot(req.kind, req.subject, own.height);
  if (req.height < own.height) return `below the high-watermark: ${a(req.kind)} was already signed at ${slot}`;
  if (req.height === own.height) {
    if (own.preimage === null) return `${a(req.kind)} was already signed at ${slot} (imported watermark, preimage unknown)`;
    return `a different ${req.kind} was already signed at ${slot}`;
  }
  return null;
}

/** HotStuff order between the consensus kinds of one validator: (view, stage) strictly increases. */
function crossKindConflict(req: SlotRequest, other: SlotRecord): string | null {
  const mine = STAGE[req.kind]!;
  const theirs = STAGE[other.kind]!;
  if (req.height > other.height || (req.height === other.height && mine > theirs)) return null;
  if (other.height > req.height) return `${a(other.kind)} was already signed at the higher view ${other.height}`;
  return `${a(other.kind)} was already signed at view ${other.height}, and ${a(req.kind)} may not follow ${a(other.kind)} in the same view`;
}

/**
 * Decides one request. An identical preimage whose signature is stored is
 * replayed (no new signature). An identical preimage without a stored
 * signature (crash between record and signature) may be signed again if no
 * other rule forbids it now. Anything else must pass every rule and is
 * recorded before it is signed.
 */
export function decideRequest(req: SlotRequest, lookup: SlotLookup): PolicyOutcome {
  const own = lookup(req.kind, req.subject);
  const identical = own !== undefined && own.height === req.height && sameBytes(own.preimage, req.preimage);
  if (identical && own.signature !== null) return { decision: { verdict: 'replay', signature: own.signature }, write: null };

  const refuse = (reason: string): PolicyOutcome => ({ decision: { verdict: 'refuse', reason }, write: null });
  if (own !== undefined && !identical) {
    const conflict = sameSlotConflict(req, own);
    if (conflict) return refuse(conflict);
  }
  if (STAGE[req.kind] !== undefined) {
    for (const kind of CONSENSUS_KINDS) {
      if (kind === req.kind) continue;
      const other = lookup(kind, null);
      const conflict = other ? crossKindConflict(req, other) : null;
      if (conflict) return refuse(conflict);
    }
  }
  if (identical) return { decision: { verdict: 'sign' }, write: null };
  const write: SlotRecord = { scope: req.scope, kind: req.kind, subject: req.subject, height: req.height, preimage: req.preimage, signature: null };
  return { decision: { verdict: 'sign' }, write };
}

/**
 * Stores a signature next to its record, if the slot still holds that exact
 * preimage with no signature; otherwise nothing changes (the slot moved on).
 */
export function attachSignature(req: SlotRequest, signature: Uint8Array, own: SlotRecord | undefined): SlotRecord | null {
  if (!own || own.height !== req.height || !sameBytes(own.preimage, req.preimage) || own.signature !== null) return null;
  return { ...own, signature };
}

export type MergeOutcome = 'added' | 'raised' | 'unchanged' | 'blocked';

/**
 * Merges an imported record into the stored one by taking the maximum: a
 * higher height replaces (signature dropped), a lower one is ignored, the same
 * height with a different or unknown preimage becomes an unknown-preimage
 * watermark that refuses every request at that height.
 */
export function mergeRecord(local: SlotRecord | undefined, incoming: SlotRecord): { outcome: MergeOutcome; write: SlotRecord | null } {
  const imported: SlotRecord = { ...incoming, signature: null };
  if (!local) return { outcome: 'added', write: imported };
  if (incoming.height > local.height) return { outcome: 'raised', write: imported };
  if (incoming.height < local.height) return { outcome: 'unchanged', write: null };
  if (sameBytes(local.preimage, incoming.preimage) || local.preimage === null) return { outcome: 'unchanged', write: null };
  return { outcome: 'blocked', write: { ...local, preimage: null, signature: null } };
}
