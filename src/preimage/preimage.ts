// Builders and strict parsers for the domain-separated signing preimages.
// A parser accepts exactly one well-formed preimage: known tag, every field
// present, no trailing byte, and the field relations of docs/preimages.md.
// The signer enforces double-sign rules on what this module parses.

import { FIELD_SIZE, LAYOUTS, MESSAGE_KINDS, layoutLength, type MessageKind, type PreimageLayout } from './layouts.ts';
import { PreimageError } from './preimage-error.ts';

export interface ProposalPreimage {
  kind: 'proposal';
  chainId: bigint;
  view: bigint;
  blockHash: Uint8Array;
  proposerId: bigint;
  parentHash: Uint8Array;
  justifyQcView: bigint;
}

export interface VotePreimage {
  kind: 'vote';
  chainId: bigint;
  view: bigint;
  blockHash: Uint8Array;
  voterId: bigint;
}

export interface TimeoutPreimage {
  kind: 'timeout';
  chainId: bigint;
  view: bigint;
  /** Hash of the highest QC the voter holds; 32 zero bytes when it holds none (genesis). */
  highQcHash: Uint8Array;
  voterId: bigint;
  highQcView: bigint;
}

export interface BatchPreimage {
  kind: 'batch';
  chainId: bigint;
  authorId: bigint;
  round: bigint;
  batchDigest: Uint8Array;
}

export interface BatchAckPreimage {
  kind: 'batch-ack';
  chainId: bigint;
  ackerId: bigint;
  batchAuthorId: bigint;
  batchRound: bigint;
  batchDigest: Uint8Array;
}

export type Preimage = ProposalPreimage | VotePreimage | TimeoutPreimage | BatchPreimage | BatchAckPreimage;
export type PreimageOf<K extends MessageKind> = Extract<Preimage, { kind: K }>;

const U64_MAX = (1n << 64n) - 1n;
const TAGS = MESSAGE_KINDS.map((kind) => ({ layout: LAYOUTS[kind], tag: Buffer.from(LAYOUTS[kind].tag, 'ascii') }));

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

/** Relations between fields that a well-formed preimage satisfies. */
function checkRelations(p: Preimage): void {
  const bad = (msg: string): never => {
    throw new PreimageError('INCONSISTENT', `${p.kind} preimage: ${msg}`);
  };
  if (p.kind === 'proposal' && p.justifyQcView >= p.view) bad(`justify QC view ${p.justifyQcView} must be lower than view ${p.view}`);
  if (p.kind === 'timeout') {
    if (p.highQcView >= p.view) bad(`high QC view ${p.highQcView} must be lower than view ${p.view}`);
    if (isZero(p.highQcHash) && p.highQcView !== 0n) bad('a zero high QC hash (no QC) requires high QC view 0');
  }
}

/** Encodes a preimage; throws FIELD_RANGE on a missing or out-of-range field. */
export function encodePreimage(p: Preimage): Buffer {
  // Own keys only: an untyped kind such as 'constructor' must not find Object.prototype members.
  const layout: PreimageLayout | undefined = Object.hasOwn(LAYOUTS, p.kind) ? LAYOUTS[p.kind] : undefined;
  if (!layout) throw new PreimageError('UNKNOWN_TAG', `unknown preimage kind '${String(p.kind)}'`);
  const out = Buffer.alloc(layoutLength(layout));
  let off = out.write(layout.tag, 0, 'ascii');
  const values = p as unknown as Record<string, unknown>;
  for (const field of layout.fields) {
    const v = values[field.name];
    if (field.type === 'u64') {
      if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
        throw new PreimageError('FIELD_RANGE', `${p.kind}.${field.name} must be an unsigned 64-bit bigint`);
      }
      out.writeBigUInt64BE(v, off);
    } else {
      if (!(v instanceof Uint8Array) || v.length !== 32) {
        throw new PreimageError('FIELD_RANGE', `${p.kind}.${field.name} must be exactly 32 bytes`);
      }
      out.set(v, off);
    }
    off += FIELD_SIZE[field.type];
  }
  checkRelations(p);
  return out;
}

/** The layout whose tag starts `bytes`; no tag is a prefix of another. */
function layoutOf(bytes: Uint8Array): PreimageLayout {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const { layout, tag } of TAGS) {
    if (buf.length >= tag.length && buf.subarray(0, tag.length).equals(tag)) return layout;
  }
  throw new PreimageError('UNKNOWN_TAG', `preimage does not start with a known domain tag (${MESSAGE_KINDS.map((k) => LAYOUTS[k].tag).join(', ')})`);
}

/** Parses exactly one well-formed preimage of any kind. */
export function parsePreimage(bytes: Uint8Array): Preimage {
  const layout = layoutOf(bytes);
  const want = layoutLength(layout);
  if (bytes.length < want) throw new PreimageError('TRUNCATED', `${layout.tag} preimage is ${bytes.length} bytes, needs ${want}`);
  if (bytes.length > want) throw new PreimageError('TRAILING_BYTES', `${layout.tag} preimage has ${bytes.length - want} trailing bytes (length must be ${want})`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, unknown> = { kind: layout.kind };
  let off = layout.tag.length;
  for (const field of layout.fields) {
    out[field.name] = field.type === 'u64' ? buf.readBigUInt64BE(off) : new Uint8Array(buf.subarray(off, off + 32));
    off += FIELD_SIZE[field.type];
  }
  const p = out as unknown as Preimage;
  checkRelations(p);
  return p;
}

/** Parses a preimage and requires it to be of `kind`. */
export function parsePreimageOf<K extends MessageKind>(kind: K, bytes: Uint8Array): PreimageOf<K> {
  const p = parsePreimage(bytes);
  if (p.kind !== kind) {
    throw new PreimageError('UNKNOWN_TAG', `expected a ${LAYOUTS[kind].tag} preimage, got ${LAYOUTS[p.kind].tag}`);
  }
  return p as PreimageOf<K>;
}

/** The validator a preimage is signed by: proposer, voter, batch author or acker. */
export function signerIdOf(p: Preimage): bigint {
  switch (p.kind) {
    case 'proposal': return p.proposerId;
    case 'vote': case 'timeout': return p.voterId;
    case 'batch': return p.authorId;
    case 'batch-ack': return p.ackerId;
  }
}

/** The consensus view, or DAG round, a preimage belongs to. */
export function heightOf(p: Preimage): bigint {
  switch (p.kind) {
    case 'proposal': case 'vote': case 'timeout': return p.view;
    case 'batch': return p.round;
    case 'batch-ack': return p.batchRound;
  }
}
