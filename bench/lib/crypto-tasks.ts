// The crypto operations benchmarks time, as task factories a worker thread can
// build by name (see rate.ts): ours through src/crypto (node:crypto), and the
// same operation in the independent @noble JavaScript implementation. Also the
// reference rate later benchmarks quote: the raw all-core ML-DSA-44 sign rate.

import { ml_dsa44, ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';
import { decapsulate, encapsulate, exportSigningKey, generateKemKey, generateSigningKey, signSync, suiteByName, verifySignature, type SignatureSuiteName } from '../../src/crypto/index.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { coreCount, measureThreads, type TaskFactory, type TaskRef, type ThreadRateResult } from './rate.ts';

/** What every signing row signs: a 69-byte QBIND_VOTE_V1 preimage. */
export function benchMessage(): Buffer {
  return encodePreimage({ kind: 'vote', chainId: QBIND_DEVNET_CHAIN_ID, view: 123456n, blockHash: randomBytes(32), voterId: 7n });
}

function oursSign(name: SignatureSuiteName): TaskFactory {
  return () => {
    const key = generateSigningKey(suiteByName(name));
    const msg = benchMessage();
    return () => void signSync(key, msg);
  };
}

function oursVerify(name: SignatureSuiteName): TaskFactory {
  return () => {
    const suite = suiteByName(name);
    const key = generateSigningKey(suite);
    const msg = benchMessage();
    const sig = signSync(key, msg);
    return () => {
      if (!verifySignature(suite, key.publicKeyObject, msg, sig)) throw new Error('signature did not verify');
    };
  };
}

function nobleMlDsa(impl: typeof ml_dsa44, op: 'sign' | 'verify'): TaskFactory {
  return () => {
    const { secretKey, publicKey } = impl.keygen(randomBytes(32));
    const msg = benchMessage();
    if (op === 'sign') return () => void impl.sign(msg, secretKey);
    const sig = impl.sign(msg, secretKey);
    return () => {
      if (!impl.verify(sig, msg, publicKey)) throw new Error('signature did not verify');
    };
  };
}

export const tasks: Record<string, TaskFactory> = {
  'ours:ml-dsa-44:sign': oursSign('ml-dsa-44'),
  'ours:ml-dsa-44:verify': oursVerify('ml-dsa-44'),
  'ours:ml-dsa-65:sign': oursSign('ml-dsa-65'),
  'ours:ml-dsa-65:verify': oursVerify('ml-dsa-65'),
  'noble:ml-dsa-44:sign': nobleMlDsa(ml_dsa44, 'sign'),
  'noble:ml-dsa-44:verify': nobleMlDsa(ml_dsa44, 'verify'),
  'noble:ml-dsa-65:sign': nobleMlDsa(ml_dsa65, 'sign'),
  'noble:ml-dsa-65:verify': nobleMlDsa(ml_dsa65, 'verify'),

  'ours:ml-kem-768:encaps': () => {
    const pair = generateKemKey();
    return () => void encapsulate(pair.publicKeyObject);
  },
  'ours:ml-kem-768:decaps': () => {
    const pair = generateKemKey();
    const { ciphertext } = encapsulate(pair.publicKeyObject);
    return () => void decapsulate(pair.privateKey, ciphertext);
  },
  'noble:ml-kem-768:encaps': () => {
    const { publicKey } = ml_kem768.keygen();
    return () => void ml_kem768.encapsulate(publicKey);
  },
  'noble:ml-kem-768:decaps': () => {
    const { publicKey, secretKey } = ml_kem768.keygen();
    const { cipherText } = ml_kem768.encapsulate(publicKey);
    return () => void ml_kem768.decapsulate(cipherText, secretKey);
  },

  'ours:ed25519:sign': oursSign('ed25519'),
  'noble:ed25519:sign': () => {
    const seed = exportSigningKey(generateSigningKey(suiteByName('ed25519')));
    const msg = benchMessage();
    return () => void ed25519.sign(msg, seed);
  },
  'ours:secp256k1:sign': oursSign('secp256k1'),
  'noble:secp256k1:sign': () => {
    const d = exportSigningKey(generateSigningKey(suiteByName('secp256k1')));
    const msg = benchMessage();
    // Same output as ours: SHA-256 of the message, low S, 64-byte r||s.
    return () => void secp256k1.sign(msg, d, { prehash: true, lowS: true });
  },
};

/** This module, for TaskRefs. */
export const CRYPTO_TASKS = new URL(import.meta.url);

export function cryptoTask(name: keyof typeof tasks & string): TaskRef {
  if (!(name in tasks)) throw new Error(`unknown crypto task '${name}'`);
  return { module: CRYPTO_TASKS, name };
}

/**
 * The physical reference later benchmarks quote ratios against: raw ML-DSA-44
 * signing of a vote preimage through node:crypto, one worker thread per core,
 * summed. Measure it in the same run as the thing being compared.
 */
export function rawMlDsa44SignAllCores(durationMs = 2000): Promise<ThreadRateResult> {
  return measureThreads(cryptoTask('ours:ml-dsa-44:sign'), coreCount(), durationMs);
}
