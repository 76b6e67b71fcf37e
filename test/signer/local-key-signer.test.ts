// LocalKeySigner and the loopback transport: what is signed verifies, and
// every request check (kind, chain, validator, suite, preimage) refuses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, suiteById, SUITE_ML_DSA_44, SUITE_ED25519, verifySignature } from '../../src/crypto/index.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID, QBIND_MAINNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { FailureModeSigner, LocalKeySigner, LoopbackSignerTransport, SignError, SignerFailureMode, TransportSigner } from '../../src/signer/index.ts';

const suite = suiteById(SUITE_ML_DSA_44);
const key = generateSigningKey(suite);
const chainId = QBIND_DEVNET_CHAIN_ID;
const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const vote = (voterId: bigint, view = 3n, c = chainId) => encodePreimage({ kind: 'vote', chainId: c, view, blockHash: h(1), voterId });

async function rejectsWith(p: Promise<unknown>, code: string, text?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof SignError && err.code === code && (!text || text.test(err.message)));
}

test('signs every kind and the signature verifies under the public key', async () => {
  const signer = new LocalKeySigner({ validatorId: 42n, chainId, key });
  const preimages = [
    encodePreimage({ kind: 'proposal', chainId, view: 3n, blockHash: h(1), proposerId: 42n, parentHash: h(2), justifyQcView: 2n }),
    vote(42n),
    encodePreimage({ kind: 'timeout', chainId, view: 4n, highQcHash: h(3), voterId: 42n, highQcView: 3n }),
    encodePreimage({ kind: 'batch', chainId, authorId: 42n, round: 1n, batchDigest: h(4) }),
    encodePreimage({ kind: 'batch-ack', chainId, ackerId: 42n, batchAuthorId: 1n, batchRound: 1n, batchDigest: h(4) }),
  ];
  const methods = [signer.signProposal, signer.signVote, signer.signTimeout, signer.signBatch, signer.signBatchAck];
  const sigs = await Promise.all(methods.map((m, i) => m.call(signer, preimages[i]!)));
  sigs.forEach((sig, i) => {
    assert.equal(sig.length, 2420);
    assert.ok(verifySignature(suite, key.publicKey, preimages[i]!, sig), `signature ${i} verifies over its own preimage`);
    assert.ok(!verifySignature(suite, key.publicKey, preimages[(i + 1) % 5]!, sig), `signature ${i} does not verify over another preimage`);
  });
});

test('refuses wrong kind, chain, validator and malformed preimages', async () => {
  const signer = new LocalKeySigner({ validatorId: 42n, chainId, key });
  await rejectsWith(signer.signProposal(vote(42n)), 'INVALID_REQUEST', /does not match the preimage's domain tag QBIND_VOTE_V1/);
  await rejectsWith(signer.signVote(vote(42n, 3n, QBIND_MAINNET_CHAIN_ID)), 'INVALID_REQUEST', /chain id/);
  await rejectsWith(signer.signVote(vote(43n)), 'INVALID_REQUEST', /validator 43/);
  await rejectsWith(signer.signVote(vote(42n).subarray(0, 40)), 'INVALID_REQUEST', /invalid preimage/);
  await signer.close();
  await rejectsWith(signer.signVote(vote(42n)), 'SIGNER_CLOSED');
});

test('loopback transport: routes by validator, checks suite and view, maps errors', async () => {
  const local = new LocalKeySigner({ validatorId: 42n, chainId, key });
  const transport = new LoopbackSignerTransport([local]);
  const remote = new TransportSigner(42n, SUITE_ML_DSA_44, transport);
  assert.ok(verifySignature(suite, key.publicKey, vote(42n), await remote.signVote(vote(42n))));
  await rejectsWith(new TransportSigner(43n, SUITE_ML_DSA_44, transport).signVote(vote(43n)), 'UNAUTHORIZED');
  await rejectsWith(new TransportSigner(42n, SUITE_ED25519, transport).signVote(vote(42n)), 'INVALID_REQUEST', /suite 1/);
  const mismatch = await transport.sendSignRequest({ validatorId: 42n, suiteId: SUITE_ML_DSA_44, kind: 'vote', view: 9n, preimage: vote(42n, 3n) });
  assert.equal(mismatch.error?.code, 'INVALID_REQUEST');
  await transport.close();
  await rejectsWith(remote.signVote(vote(42n)), 'SIGNER_CLOSED');
});

test('failure modes: exit-on-failure exits 1 on backend failure, refusals never exit', async () => {
  const exits: number[] = [];
  const logs: string[] = [];
  const closed = new LocalKeySigner({ validatorId: 42n, chainId, key });
  await closed.close();
  const exiting = new FailureModeSigner(closed, SignerFailureMode.ExitOnFailure, { exit: (c) => exits.push(c), log: (l) => logs.push(l) });
  await rejectsWith(exiting.signVote(vote(42n)), 'SIGNER_CLOSED');
  assert.deepEqual(exits, [1]);
  const live = new FailureModeSigner(new LocalKeySigner({ validatorId: 42n, chainId, key }), SignerFailureMode.ExitOnFailure, { exit: (c) => exits.push(c), log: (l) => logs.push(l) });
  await rejectsWith(live.signVote(vote(41n)), 'INVALID_REQUEST');
  assert.deepEqual(exits, [1]);
  const continuing = new FailureModeSigner(closed, SignerFailureMode.LogAndContinue, { exit: (c) => exits.push(c), log: (l) => logs.push(l) });
  await rejectsWith(continuing.signVote(vote(42n)), 'SIGNER_CLOSED');
  assert.deepEqual(exits, [1]);
  assert.equal(logs.length, 2);
});
