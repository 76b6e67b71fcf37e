// LoopbackSignerTransport: the remote signer protocol's shape, in process
// (design doc §3.2). It routes each request to the ValidatorSigner registered
// for its validator id and turns SignErrors into error responses, exactly as
// the daemon does. For tests and DevNet only; forbidden on MainNet.

import { heightOf, parsePreimage } from '../preimage/preimage.ts';
import { SignError } from './sign-error.ts';
import type { RemoteSignRequest, RemoteSignResponse, RemoteSignerTransport } from './remote-protocol.ts';
import type { ValidatorSigner } from './validator-signer.ts';

/** Checks a request against a signer and runs it: the dispatch the loopback transport and the daemon share. */
export async function serveSignRequest(signer: ValidatorSigner | undefined, request: RemoteSignRequest): Promise<RemoteSignResponse> {
  try {
    if (!signer) throw new SignError('UNAUTHORIZED', `validator ${request.validatorId} is not served here`);
    if (request.suiteId !== signer.suiteId) {
      throw new SignError('INVALID_REQUEST', `suite ${request.suiteId} requested, validator ${request.validatorId} signs with suite ${signer.suiteId}`);
    }
    if (request.view !== null) {
      let height: bigint | null = null;
      try {
        height = heightOf(parsePreimage(request.preimage));
      } catch {
        // The signer reports the parse error itself, with its code.
      }
      if (height !== null && height !== request.view) {
        throw new SignError('INVALID_REQUEST', `request view ${request.view} does not match the preimage's view ${height}`);
      }
    }
    return { signature: await signer.sign(request.kind, request.preimage), error: null };
  } catch (err) {
    if (err instanceof SignError) return { signature: null, error: { code: err.code, message: err.message } };
    return { signature: null, error: { code: 'BACKEND_FAILURE', message: 'internal signer error' } };
  }
}

export class LoopbackSignerTransport implements RemoteSignerTransport {
  readonly #signers = new Map<bigint, ValidatorSigner>();
  #closed = false;

  constructor(signers: Iterable<ValidatorSigner>) {
    for (const s of signers) this.#signers.set(s.validatorId, s);
  }

  async sendSignRequest(request: RemoteSignRequest): Promise<RemoteSignResponse> {
    if (this.#closed) return { signature: null, error: { code: 'SIGNER_CLOSED', message: 'loopback signer transport is closed' } };
    return serveSignRequest(this.#signers.get(request.validatorId), request);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#signers.values()) await s.close();
    this.#signers.clear();
  }
}
