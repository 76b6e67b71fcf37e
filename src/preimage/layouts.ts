// The byte layouts of the five signing preimages (docs/preimages.md): an ASCII
// domain tag, then fixed-width fields, integers unsigned big-endian. The tables
// here are the single definition used by both the builders and the parsers.

export type MessageKind = 'proposal' | 'vote' | 'timeout' | 'batch' | 'batch-ack';

export const MESSAGE_KINDS: readonly MessageKind[] = ['proposal', 'vote', 'timeout', 'batch', 'batch-ack'];

export type FieldType = 'u64' | 'hash32';

export interface FieldLayout {
  readonly name: string;
  readonly type: FieldType;
}

export interface PreimageLayout {
  readonly kind: MessageKind;
  readonly tag: string;
  readonly fields: readonly FieldLayout[];
}

const u64 = (name: string): FieldLayout => ({ name, type: 'u64' });
const hash32 = (name: string): FieldLayout => ({ name, type: 'hash32' });

export const LAYOUTS: Readonly<Record<MessageKind, PreimageLayout>> = {
  proposal: {
    kind: 'proposal',
    tag: 'QBIND_PROPOSAL_V1',
    fields: [u64('chainId'), u64('view'), hash32('blockHash'), u64('proposerId'), hash32('parentHash'), u64('justifyQcView')],
  },
  vote: {
    kind: 'vote',
    tag: 'QBIND_VOTE_V1',
    fields: [u64('chainId'), u64('view'), hash32('blockHash'), u64('voterId')],
  },
  timeout: {
    kind: 'timeout',
    tag: 'QBIND_TIMEOUT_V1',
    fields: [u64('chainId'), u64('view'), hash32('highQcHash'), u64('voterId'), u64('highQcView')],
  },
  batch: {
    kind: 'batch',
    tag: 'QBIND_BATCH_V1',
    fields: [u64('chainId'), u64('authorId'), u64('round'), hash32('batchDigest')],
  },
  'batch-ack': {
    kind: 'batch-ack',
    tag: 'QBIND_BATCH_ACK_V1',
    fields: [u64('chainId'), u64('ackerId'), u64('batchAuthorId'), u64('batchRound'), hash32('batchDigest')],
  },
};

export const FIELD_SIZE: Readonly<Record<FieldType, number>> = { u64: 8, hash32: 32 };

export function layoutLength(layout: PreimageLayout): number {
  return layout.tag.length + layout.fields.reduce((n, f) => n + FIELD_SIZE[f.type], 0);
}
