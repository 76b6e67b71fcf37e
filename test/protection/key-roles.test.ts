// Equivocation is per validator, not per key: a validator's DAG batches and
// acks share one set of slots whether its consensus key or a separate
// batch-signing key signs them, on a real SQLite store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, suiteById, SUITE_ED25519 } from '../../src/crypto/index.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { openProtectionStore, ProtectedSigner } from '../../src/protection/index.ts';
import { LocalKeySigner, SignError } from '../../src/signer/index.ts';
import { createLogger } from '../../src/log/logger.ts';

const chainId = QBIND_DEVNET_CHAIN_ID;
const quiet = createLogger({ write: () => undefined });
const batch = (round: bigint, fill: number) => encodePreimage({ kind: 'batch', chainId, authorId: 42n, round, batchDigest: new Uint8Array(32).fill(fill) });
const ack = (round: bigint, fill: number) => encodePreimage({ kind: 'batch-ack', chainId, ackerId: 42n, batchAuthorId: 7n, batchRound: round, batchDigest: new Uint8Array(32).fill(fill) });

test('a batch or ack signed under the consensus key blocks a conflicting one under the batch-signing key, and back', async () => {
  const store = await openProtectionStore(join(mkdtempSync(join(tmpdir(), 'qbind-roles-')), 'p.sqlite'), { create: true });
  const suite = suiteById(SUITE_ED25519);
  const consensus = new ProtectedSigner(new LocalKeySigner({ validatorId: 42n, chainId, key: generateSigningKey(suite) }), store, { chainId, keyRole: 'consensus', logger: quiet });
  const batchKey = new ProtectedSigner(new LocalKeySigner({ validatorId: 42n, chainId, key: generateSigningKey(suite) }), store, { chainId, keyRole: 'batch-signing', logger: quiet });
  const refused = (p: Promise<unknown>) => assert.rejects(p, (e: unknown) => e instanceof SignError && e.code === 'DOUBLE_SIGN_REFUSED');
  await consensus.signBatch(batch(5n, 1));
  await refused(batchKey.signBatch(batch(5n, 2)));
  await batchKey.signBatch(batch(6n, 3));
  await refused(consensus.signBatch(batch(6n, 4)));
  await batchKey.signBatchAck(ack(9n, 5));
  await refused(consensus.signBatchAck(ack(9n, 6)));
  // The batch-signing key still signs no consensus message.
  await assert.rejects(batchKey.signVote(encodePreimage({ kind: 'vote', chainId, view: 1n, blockHash: new Uint8Array(32), voterId: 42n })), (e: unknown) => e instanceof SignError && e.code === 'INVALID_REQUEST');
  await store.close();
});
