// TransportSigner: a ValidatorSigner that sends every request over a
// RemoteSignerTransport (loopback in tests, KEMTLS to qbind-remote-signer in
// production) and turns error responses back into SignErrors.

import { heightOf, parsePreimage } from '../preimage/preimage.ts';
import type { MessageKind } from '../preimage/layouts.ts';
import { SignError } from './sign-error.ts';
import { suiteById } from '../crypto/suites.ts';
import type { RemoteSignerTransport } from './remote-protocol.ts';
import { PreimageSigner } from './validator-signer.ts';

export class TransportSigner extends PreimageSigner {
  readonly validatorId: bigint;
  readonly suiteId: number;
  readonly #transport: RemoteSignerTransport;

  readonly #signatureBytes: number;

  constructor(validatorId: bigint, suiteId: number, transport: RemoteSignerTransport) {
    super();
    this.validatorId = validatorId;
    this.suiteId = suiteId;
    this.#signatureBytes = suiteById(suiteId).signatureBytes;
    this.#transport = transport;
  }

  async sign(kind: MessageKind, preimage: Uint8Array): Promise<Uint8Array> {
    let view: bigint | null = null;
    try {
      view = heightOf(parsePreimage(preimage));
    } catch {
      // Sent as is: the signer side is the authority and answers INVALID_REQUEST.
    }
    const response = await this.#transport.sendSignRequest({ validatorId: this.validatorId, suiteId: this.suiteId, kind, view, preimage });
    if (response.error) throw new SignError(response.error.code, response.error.message);
    if (response.signature.length !== this.#signatureBytes) {
      throw new SignError('BACKEND_FAILURE', `remote signer returned ${response.signature.length} bytes, not a suite ${this.suiteId} signature (${this.#signatureBytes} bytes)`);
    }
    return response.signature;
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
