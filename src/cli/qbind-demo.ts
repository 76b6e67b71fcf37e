// The README's main job until the remote signer daemon lands: generates a
// DevNet ML-DSA-44 validator key in memory, signs a proposal, a vote, a
// timeout, a DAG batch and a batch ack through the remote signer protocol
// (loopback transport) and verifies each signature.

import { createHash } from 'node:crypto';
import { generateSigningKey, publicKeyFingerprint, suiteById, SUITE_ML_DSA_44, verifySignature } from '../crypto/index.ts';
import { encodePreimage, formatChainId, QBIND_DEVNET_CHAIN_ID, type Preimage } from '../preimage/index.ts';
import { LocalKeySigner, LoopbackSignerTransport, TransportSigner } from '../signer/index.ts';

const h = (label: string): Uint8Array => createHash('sha3-256').update(label).digest();

export async function main(_argv: string[]): Promise<number> {
  const validatorId = 42n;
  const chainId = QBIND_DEVNET_CHAIN_ID;
  const suite = suiteById(SUITE_ML_DSA_44);
  const key = generateSigningKey(suite);
  const local = new LocalKeySigner({ validatorId, chainId, key });
  const signer = new TransportSigner(validatorId, suite.id, new LoopbackSignerTransport([local]));

  console.log(`validator ${validatorId} on devnet (chain ${formatChainId(chainId)}), suite ${suite.id} ${suite.name}`);
  console.log(`public key ${key.publicKey.length} bytes, fingerprint ${publicKeyFingerprint(key.publicKey)}`);

  const messages: Preimage[] = [
    { kind: 'proposal', chainId, view: 7n, blockHash: h('block-7'), proposerId: validatorId, parentHash: h('block-6'), justifyQcView: 6n },
    { kind: 'vote', chainId, view: 7n, blockHash: h('block-7'), voterId: validatorId },
    { kind: 'timeout', chainId, view: 8n, highQcHash: h('qc-7'), voterId: validatorId, highQcView: 7n },
    { kind: 'batch', chainId, authorId: validatorId, round: 3n, batchDigest: h('batch-3') },
    { kind: 'batch-ack', chainId, ackerId: validatorId, batchAuthorId: 7n, batchRound: 3n, batchDigest: h('batch-7-3') },
  ];

  let failures = 0;
  for (const m of messages) {
    const preimage = encodePreimage(m);
    const started = performance.now();
    const signature = await signer.sign(m.kind, preimage);
    const ms = performance.now() - started;
    const ok = verifySignature(suite, key.publicKey, preimage, signature);
    if (!ok) failures++;
    console.log(`${m.kind.padEnd(9)} preimage ${String(preimage.length).padStart(3)} B  signature ${signature.length} B  ${ms.toFixed(2)} ms  verify ${ok ? 'ok' : 'FAILED'}`);
  }
  await signer.close();
  if (failures > 0) {
    console.error(`${failures} signature(s) failed to verify`);
    return 1;
  }
  console.log('all signatures verified');
  return 0;
}
