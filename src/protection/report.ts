// Human-readable summary of protection state for `qbind-protection show`: one
// line per chain, validator and key role with the highest signed height of
// each kind (acks: how many batch authors, and the highest round).

import { formatChainId } from '../preimage/chain-id.ts';
import { MESSAGE_KINDS } from '../preimage/layouts.ts';
import type { SlotRecord } from './records.ts';
import { scopesOf } from './store.ts';

export interface ScopeSummary {
  chain_id: string;
  validator_id: string;
  key_role: string;
  /** Highest height per kind ('-' when nothing was signed); unknown-preimage watermarks are marked with '*'. */
  highest: Record<string, string>;
  batch_ack_authors: number;
}

export function summarizeRecords(records: readonly SlotRecord[]): ScopeSummary[] {
  return scopesOf(records).map((scope) => {
    const mine = records.filter((r) => r.scope.chainId === scope.chainId && r.scope.validatorId === scope.validatorId && r.scope.keyRole === scope.keyRole);
    const highest: Record<string, string> = {};
    for (const kind of MESSAGE_KINDS) {
      const top = mine.filter((r) => r.kind === kind).sort((a, b) => (a.height < b.height ? 1 : a.height > b.height ? -1 : 0))[0];
      highest[kind] = top ? `${top.height}${top.preimage === null ? '*' : ''}` : '-';
    }
    return {
      chain_id: formatChainId(scope.chainId),
      validator_id: scope.validatorId.toString(),
      key_role: scope.keyRole,
      highest,
      batch_ack_authors: mine.filter((r) => r.kind === 'batch-ack').length,
    };
  });
}

export function summaryText(summaries: readonly ScopeSummary[]): string {
  if (summaries.length === 0) return 'no signing recorded\n';
  const header = ['chain', 'validator', 'role', ...MESSAGE_KINDS, 'ack authors'];
  const rows = summaries.map((s) => [s.chain_id, s.validator_id, s.key_role, ...MESSAGE_KINDS.map((k) => s.highest[k]!), String(s.batch_ack_authors)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const starred = summaries.some((s) => Object.values(s.highest).some((v) => v.endsWith('*')));
  return [line(header), ...rows.map(line), ...(starred ? ['* imported watermark with unknown preimage: that height is refused'] : [])].join('\n') + '\n';
}
