// RemoteSignRequest / RemoteSignResponse (design doc §4.4) and the
// RemoteSignerTransport interface (§4.3). The wire encoding lives in
// src/remote; this is the in-memory shape both ends agree on.

import type { MessageKind } from '../preimage/layouts.ts';
import type { SignErrorCode } from './sign-error.ts';

export interface RemoteSignRequest {
  /** Which validator to sign as. */
  validatorId: bigint;
  /** Signature suite (100 = ML-DSA-44). */
  suiteId: number;
  kind: MessageKind;
  /** View (or DAG round) the caller believes the preimage is for; checked against it when present. */
  view: bigint | null;
  /** Domain-separated signing preimage. */
  preimage: Uint8Array;
}

export interface RemoteSignError {
  code: SignErrorCode;
  message: string;
}

export type RemoteSignResponse =
  | { signature: Uint8Array; error: null }
  | { signature: null; error: RemoteSignError };

export interface RemoteSignerTransport {
  sendSignRequest(request: RemoteSignRequest): Promise<RemoteSignResponse>;
  close(): Promise<void>;
}
