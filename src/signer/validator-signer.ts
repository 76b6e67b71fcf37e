// The ValidatorSigner interface (design doc §4.2) and the signer mode and
// failure mode types. Every signing backend (local key, remote daemon, HSM)
// implements ValidatorSigner; consensus code sees nothing else.

import type { MessageKind } from '../preimage/layouts.ts';

export const SignerMode = {
  LoopbackTesting: 'loopback-testing',
  EncryptedFsV1: 'encrypted-fs',
  RemoteSigner: 'remote-signer',
  HsmPkcs11: 'hsm-pkcs11',
} as const;
export type SignerMode = (typeof SignerMode)[keyof typeof SignerMode];

export const SignerFailureMode = {
  ExitOnFailure: 'exit-on-failure',
  LogAndContinue: 'log-and-continue',
} as const;
export type SignerFailureMode = (typeof SignerFailureMode)[keyof typeof SignerFailureMode];

export interface ValidatorSigner {
  readonly validatorId: bigint;
  /** Signature suite id (100 = ML-DSA-44 for QBIND consensus). */
  readonly suiteId: number;
  /**
   * Signs a domain-separated preimage of the given kind. Rejects with
   * SignError; never resolves to anything but a signature of the suite.
   */
  sign(kind: MessageKind, preimage: Uint8Array): Promise<Uint8Array>;
  signProposal(preimage: Uint8Array): Promise<Uint8Array>;
  signVote(preimage: Uint8Array): Promise<Uint8Array>;
  /** Takes the QBIND_TIMEOUT_V1 preimage (view and high QC are in it). */
  signTimeout(preimage: Uint8Array): Promise<Uint8Array>;
  signBatch(preimage: Uint8Array): Promise<Uint8Array>;
  signBatchAck(preimage: Uint8Array): Promise<Uint8Array>;
  /** Releases keys, sessions and connections. Idempotent. */
  close(): Promise<void>;
}

/** Implements the per-kind methods over `sign`; backends extend it. */
export abstract class PreimageSigner implements ValidatorSigner {
  abstract readonly validatorId: bigint;
  abstract readonly suiteId: number;
  abstract sign(kind: MessageKind, preimage: Uint8Array): Promise<Uint8Array>;
  abstract close(): Promise<void>;

  signProposal(preimage: Uint8Array): Promise<Uint8Array> {
    return this.sign('proposal', preimage);
  }

  signVote(preimage: Uint8Array): Promise<Uint8Array> {
    return this.sign('vote', preimage);
  }

  signTimeout(preimage: Uint8Array): Promise<Uint8Array> {
    return this.sign('timeout', preimage);
  }

  signBatch(preimage: Uint8Array): Promise<Uint8Array> {
    return this.sign('batch', preimage);
  }

  signBatchAck(preimage: Uint8Array): Promise<Uint8Array> {
    return this.sign('batch-ack', preimage);
  }
}
