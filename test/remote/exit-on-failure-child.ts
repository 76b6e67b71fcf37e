// Child process for the failure-mode test: a RemoteSignerClient in
// exit-on-failure mode asks an unreachable signer for a vote. The process must
// log and exit with code 1 (runbook §6.3); printing 'returned' means it did not.

import { generateKemKey } from '../../src/crypto/index.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createRemoteSignerClient } from '../../src/remote/remote-signer-client.ts';
import { SignerFailureMode } from '../../src/signer/index.ts';

const [url, mode] = process.argv.slice(2);
const client = createRemoteSignerClient({
  url: url!,
  validatorId: 42n,
  identity: generateKemKey(),
  signerPublicKey: generateKemKey().publicKey,
  failureMode: mode === 'log-and-continue' ? SignerFailureMode.LogAndContinue : SignerFailureMode.ExitOnFailure,
  logger: createLogger(),
});
try {
  await client.signVote(encodePreimage({ kind: 'vote', chainId: QBIND_DEVNET_CHAIN_ID, view: 1n, blockHash: new Uint8Array(32), voterId: 42n }));
  console.log('signed');
} catch (err) {
  console.log(`returned ${(err as { code?: string }).code}`);
}
await client.close();
