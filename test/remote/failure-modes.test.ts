// Backend failures under each signer failure mode (runbook §6.3), with real
// failures: an unreachable signer (node side) and a protection store whose
// PostgreSQL server is stopped under a running daemon (signer side).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { createRemoteSignerClient } from '../../src/remote/remote-signer-client.ts';
import { SignError, SignerFailureMode } from '../../src/signer/index.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { buildDeployment, startDaemon } from './fixture.ts';

const here = new URL('.', import.meta.url).pathname;
const vote = (view: bigint): Uint8Array => encodePreimage({ kind: 'vote', chainId: QBIND_DEVNET_CHAIN_ID, view, blockHash: createHash('sha3-256').update(`b${view}`).digest(), voterId: 42n });

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('signer unreachable: exit-on-failure logs and exits 1; log-and-continue returns the error', async () => {
  const url = `kemtls://127.0.0.1:${await closedPort()}`;
  const exiting = spawnSync(process.execPath, [join(here, 'exit-on-failure-child.ts'), url, 'exit-on-failure'], { encoding: 'utf8' });
  assert.equal(exiting.status, 1);
  assert.doesNotMatch(exiting.stdout, /returned|signed/);
  assert.match(exiting.stderr, /signer failure .*UNAVAILABLE: remote signer unreachable/);
  const continuing = spawnSync(process.execPath, [join(here, 'exit-on-failure-child.ts'), url, 'log-and-continue'], { encoding: 'utf8' });
  assert.equal(continuing.status, 0);
  assert.match(continuing.stdout, /returned UNAVAILABLE/);
  assert.match(continuing.stderr, /signer failure/);
});

test('protection store lost under a running daemon: BACKEND_FAILURE, never a signature; health says not ready', async () => {
  const pg = await startPostgres();
  const url = await pg.createDatabase('protection');
  const dep = await buildDeployment({ validators: [42n], clients: [{ name: 'n', validators: [42n] }], extra: `protection_store = "${url}"` });
  const daemon = await startDaemon(dep.configPath, ['--init-protection-store']);
  const exits: number[] = [];
  try {
    const identity = await dep.nodeIdentity('n');
    const client = (failureMode: SignerFailureMode) =>
      createRemoteSignerClient({ url: daemon.url, validatorId: 42n, identity, signerPublicKey: dep.signerPublicKey, failureMode, failureHooks: { exit: (c) => exits.push(c), log: () => undefined } });
    const exitOnFailure = client(SignerFailureMode.ExitOnFailure);
    const logAndContinue = client(SignerFailureMode.LogAndContinue);
    assert.equal((await exitOnFailure.signVote(vote(1n))).length, 2420);
    assert.equal((await fetch(`http://127.0.0.1:${daemon.port}/health`)).status, 200);
    await pg.stop();
    for (const [client, expectExit] of [[logAndContinue, false], [exitOnFailure, true]] as const) {
      const before = exits.length;
      await assert.rejects(client.signVote(vote(2n)), (e: unknown) => e instanceof SignError && e.code === 'BACKEND_FAILURE' && /protection store failed/.test(e.message));
      assert.equal(exits.length - before, expectExit ? 1 : 0);
    }
    assert.deepEqual(exits, [1]);
    const health = await fetch(`http://127.0.0.1:${daemon.port}/health`);
    assert.equal(health.status, 503);
    assert.match(((await health.json()) as { reason: string }).reason, /protection store not writable/);
    await exitOnFailure.close();
    await logAndContinue.close();
  } finally {
    await daemon.stop();
    await pg.stop();
  }
});
