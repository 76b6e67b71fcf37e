// Worker thread body for KdfPool: runs PBKDF2 (kdf.ts) on its own thread for
// each job it is sent and transfers the 32-byte master secret back. The
// passphrase copy it receives is zeroed after use.

import { parentPort } from 'node:worker_threads';
import { deriveMasterSync } from './kdf.ts';

export interface KdfJobMessage {
  id: number;
  passphrase: Uint8Array;
  salt: Uint8Array;
  iterations: number;
}

export type KdfResultMessage = { id: number; master: Uint8Array } | { id: number; error: string };

const port = parentPort;
if (port) {
  port.on('message', (job: KdfJobMessage) => {
    try {
      const derived = deriveMasterSync(job.passphrase, { salt: job.salt, iterations: job.iterations });
      const master = new Uint8Array(derived.length);
      master.set(derived);
      derived.fill(0);
      port.postMessage({ id: job.id, master } satisfies KdfResultMessage, [master.buffer]);
    } catch (err) {
      port.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies KdfResultMessage);
    } finally {
      job.passphrase.fill(0);
    }
  });
}
