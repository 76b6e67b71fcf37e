// Applies a SignerFailureMode (runbook §6.3) to any ValidatorSigner:
// ExitOnFailure logs and ends the process with exit code 1 when the backend
// fails (fail closed); LogAndContinue logs and returns the error to the caller.
// Refusals that are the signer doing its job (double sign, invalid request,
// rate limit) are returned in both modes: they are not backend failures.

import type { MessageKind } from '../preimage/layouts.ts';
import { SignError, type SignErrorCode } from './sign-error.ts';
import { PreimageSigner, SignerFailureMode, type ValidatorSigner } from './validator-signer.ts';

const BACKEND_FAILURES: ReadonlySet<SignErrorCode> = new Set(['BACKEND_FAILURE', 'UNAVAILABLE', 'SIGNER_CLOSED']);

export interface FailureModeHooks {
  /** Where failures are reported; defaults to a line on stderr. */
  log?: (line: string) => void;
  /** Called for ExitOnFailure; defaults to process.exit. */
  exit?: (code: number) => void;
}

export class FailureModeSigner extends PreimageSigner {
  readonly #inner: ValidatorSigner;
  readonly #mode: SignerFailureMode;
  readonly #log: (line: string) => void;
  readonly #exit: (code: number) => void;

  constructor(inner: ValidatorSigner, mode: SignerFailureMode, hooks: FailureModeHooks = {}) {
    super();
    this.#inner = inner;
    this.#mode = mode;
    this.#log = hooks.log ?? ((line) => process.stderr.write(line + '\n'));
    this.#exit = hooks.exit ?? ((code) => process.exit(code));
  }

  get validatorId(): bigint {
    return this.#inner.validatorId;
  }

  get suiteId(): number {
    return this.#inner.suiteId;
  }

  get failureMode(): SignerFailureMode {
    return this.#mode;
  }

  async sign(kind: MessageKind, preimage: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.#inner.sign(kind, preimage);
    } catch (err) {
      const signErr = err instanceof SignError ? err : new SignError('BACKEND_FAILURE', 'signer backend failed unexpectedly', { cause: err });
      if (BACKEND_FAILURES.has(signErr.code)) {
        this.#log(`signer failure (validator ${this.validatorId}, ${kind}, mode ${this.#mode}): ${signErr.code}: ${signErr.message}`);
        if (this.#mode === SignerFailureMode.ExitOnFailure) this.#exit(1);
      }
      throw signErr;
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
