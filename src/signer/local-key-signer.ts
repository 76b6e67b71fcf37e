// LocalKeySigner: a ValidatorSigner holding its private key in this process
// (loopback testing and the EncryptedFsV1 mode). It checks each request
// (checkSignRequest) and signs on libuv's thread pool, so concurrent requests
// use every core. Double-sign protection wraps it (src/protection).

import { signAsync, type SigningKeyPair } from '../crypto/signing-key.ts';
import type { MessageKind } from '../preimage/layouts.ts';
import { checkSignRequest } from './check-request.ts';
import { SignError } from './sign-error.ts';
import { PreimageSigner } from './validator-signer.ts';

export interface LocalKeySignerOptions {
  validatorId: bigint;
  chainId: bigint;
  key: SigningKeyPair;
}

export class LocalKeySigner extends PreimageSigner {
  readonly validatorId: bigint;
  readonly suiteId: number;
  readonly chainId: bigint;
  #key: SigningKeyPair | null;

  constructor(options: LocalKeySignerOptions) {
    super();
    this.validatorId = options.validatorId;
    this.chainId = options.chainId;
    this.suiteId = options.key.suite.id;
    this.#key = options.key;
  }

  /** The raw public key, for verifiers and registration. */
  get publicKey(): Uint8Array {
    if (!this.#key) throw new SignError('SIGNER_CLOSED', 'signer is closed');
    return this.#key.publicKey;
  }

  async sign(kind: MessageKind, preimage: Uint8Array): Promise<Uint8Array> {
    const key = this.#key;
    if (!key) throw new SignError('SIGNER_CLOSED', 'signer is closed');
    checkSignRequest(this, kind, preimage);
    try {
      return await signAsync(key, preimage);
    } catch (err) {
      throw new SignError('BACKEND_FAILURE', `signing failed in the crypto library (${kind}, validator ${this.validatorId})`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.#key = null;
  }
}
