// The hash chain of the audit log (docs/audit-log.md): each line is a JSON
// object whose `hash` is SHA3-256 over the previous line's hash and the line's
// own canonical body (all fields but `hash`, in a fixed order). Editing or
// deleting a line breaks the chain at that point; `seq` numbers lines.

import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditRecord {
  seq: number;
  ts: string;
  event: string;
  prev: string;
  [field: string]: string | number | boolean | null;
}

/** The canonical body of a record: its fields except `hash`, keys sorted. */
export function canonicalBody(record: Record<string, unknown>): string {
  const keys = Object.keys(record).filter((k) => k !== 'hash').sort();
  return JSON.stringify(keys.map((k) => [k, record[k]]));
}

export function chainHash(prev: string, record: Record<string, unknown>): string {
  return createHash('sha3-256').update(prev).update('\n').update(canonicalBody(record)).digest('hex');
}

export interface ChainVerdict {
  ok: boolean;
  lines: number;
  /** Hash of the last good line (where the next line must chain from). */
  head: string;
  lastSeq: number;
  /** 1-based line number and reason of the first break. */
  problem?: { line: number; reason: string };
}

/** Verifies a whole log's text. Stops at the first broken line. */
export function verifyChain(text: string): ChainVerdict {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let head = GENESIS_HASH;
  let lastSeq = 0;
  for (let i = 0; i < lines.length; i++) {
    const fail = (reason: string): ChainVerdict => ({ ok: false, lines: lines.length, head, lastSeq, problem: { line: i + 1, reason } });
    let rec: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(lines[i]!);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('not a JSON object');
      rec = parsed as Record<string, unknown>;
    } catch {
      return fail('not valid JSON (line edited or truncated)');
    }
    if (rec.seq !== lastSeq + 1) return fail(`sequence number ${String(rec.seq)} where ${lastSeq + 1} was expected (a line was deleted or inserted before it)`);
    if (rec.prev !== head) return fail('prev does not match the hash of the line before (a line before it was deleted or changed)');
    const want = chainHash(head, rec);
    if (rec.hash !== want) return fail('hash does not match the line content (the line was edited)');
    head = want;
    lastSeq = rec.seq as number;
  }
  return { ok: true, lines: lines.length, head, lastSeq };
}
