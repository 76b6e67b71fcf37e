// The checks every signer backend makes before it signs: the preimage parses
// exactly, is of the requested kind, names this chain and this validator.
// Shared by LocalKeySigner, the HSM signer and the remote signer daemon.

import { LAYOUTS, type MessageKind } from '../preimage/layouts.ts';
import { formatChainId } from '../preimage/chain-id.ts';
import { parsePreimage, signerIdOf, type Preimage } from '../preimage/preimage.ts';
import { PreimageError } from '../preimage/preimage-error.ts';
import { SignError } from './sign-error.ts';

export interface SigningScope {
  readonly chainId: bigint;
  readonly validatorId: bigint;
}

export function checkSignRequest(scope: SigningScope, kind: MessageKind, preimage: Uint8Array): Preimage {
  let parsed: Preimage;
  try {
    parsed = parsePreimage(preimage);
  } catch (err) {
    if (err instanceof PreimageError) throw new SignError('INVALID_REQUEST', `invalid preimage: ${err.message}`);
    throw err;
  }
  if (parsed.kind !== kind) {
    throw new SignError('INVALID_REQUEST', `request kind '${kind}' does not match the preimage's domain tag ${LAYOUTS[parsed.kind].tag}`);
  }
  if (parsed.chainId !== scope.chainId) {
    throw new SignError('INVALID_REQUEST', `preimage chain id ${formatChainId(parsed.chainId)} is not this signer's chain ${formatChainId(scope.chainId)}`);
  }
  const signer = signerIdOf(parsed);
  if (signer !== scope.validatorId) {
    throw new SignError('INVALID_REQUEST', `preimage is for validator ${signer}, this signer is validator ${scope.validatorId}`);
  }
  return parsed;
}
