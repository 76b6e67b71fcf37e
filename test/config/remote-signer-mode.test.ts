// Signer mode remote-signer end to end against the real qbind-remote-signer
// daemon (child process, test/remote/fixture.ts): check 18 completes the
// KEMTLS handshake, qbind-node --validate-only exits 0, the factory's signer
// signs through the daemon and the signature verifies under the validator's
// consensus.pub; with the daemon gone, exit-on-failure ends the process.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suiteById, SUITE_ML_DSA_44, verifySignature } from '../../src/crypto/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { encodePreimage, QBIND_DEVNET_CHAIN_ID } from '../../src/preimage/index.ts';
import { SignError } from '../../src/signer/index.ts';
import { nodeConfigFromArgs } from '../../src/config/resolve.ts';
import { createValidatorSigner } from '../../src/config/signer-factory.ts';
import { validateNodeConfig } from '../../src/config/validate.ts';
import { buildDeployment, PASS_ENV, PASSPHRASE, startDaemon, type DaemonProcess, type Deployment } from '../remote/fixture.ts';

const BIN = fileURLToPath(new URL('../../bin/qbind-node', import.meta.url));
const quiet = createLogger({ write: () => undefined });
let dep: Deployment;
let daemon: DaemonProcess;
let argv: string[];
const env = { [PASS_ENV]: PASSPHRASE };

before(async () => {
  dep = await buildDeployment({ validators: [42n], clients: [{ name: 'node42', validators: [42n] }] });
  daemon = await startDaemon(dep.configPath, ['--init-protection-store']);
  argv = [
    '--profile', 'devnet-v0', '--validator-id', '42', '--signer-mode', 'remote', '--remote-signer-url', daemon.url,
    '--remote-signer-public-key-path', join(dep.dir, 'signer-identity', 'p2p_identity.pub'),
    '--identity-keystore-path', join(dep.dir, 'node-node42'), '--keystore-passphrase-env', PASS_ENV,
  ];
});

after(async () => {
  await daemon?.stop();
  if (dep) rmSync(dep.dir, { recursive: true, force: true });
});

test('check 18 passes against the running daemon, in the library and through qbind-node (exit 0)', async () => {
  const r = await validateNodeConfig(nodeConfigFromArgs(argv), { env });
  assert.deepEqual(r.violations, []);
  assert.equal(r.checks.find((c) => c.id === '18')?.status, 'passed');
  const cli = spawnSync(BIN, [...argv, '--validate-only'], { env: { PATH: process.env.PATH, QBIND_NODE_CONFIG: '', ...env }, encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /ok +18 +remote signer reachable/);
  assert.ok(!cli.stdout.includes(PASSPHRASE) && !cli.stderr.includes(PASSPHRASE));
});

test('the factory signs through the daemon; with the daemon gone, exit-on-failure exits 1', async () => {
  const exits: number[] = [];
  const signer = await createValidatorSigner(nodeConfigFromArgs(argv), { env, logger: quiet, failureHooks: { exit: (c) => exits.push(c), log: () => undefined } });
  assert.equal(signer.failureMode, 'exit-on-failure');
  const preimage = encodePreimage({ kind: 'vote', chainId: QBIND_DEVNET_CHAIN_ID, view: 5n, blockHash: new Uint8Array(32).fill(9), voterId: 42n });
  const sig = await signer.signVote(preimage);
  assert.ok(verifySignature(suiteById(SUITE_ML_DSA_44), dep.consensusPublicKey(42n), preimage, sig));
  assert.deepEqual(exits, []);

  await daemon.stop();
  const next = encodePreimage({ kind: 'vote', chainId: QBIND_DEVNET_CHAIN_ID, view: 6n, blockHash: new Uint8Array(32).fill(9), voterId: 42n });
  await assert.rejects(signer.signVote(next), (e: unknown) => e instanceof SignError && e.code === 'UNAVAILABLE');
  assert.deepEqual(exits, [1]);
  await signer.close();

  const down = await validateNodeConfig(nodeConfigFromArgs(argv), { env, timeoutMs: 3000 });
  assert.deepEqual(down.violations.map((v) => v.invariant), [18]);
  assert.match(down.violations[0]!.found, /unreachable/);
});
