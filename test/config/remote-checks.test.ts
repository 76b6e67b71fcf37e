// Check 18 (remote signer reachable) against a real KEMTLS server
// (src/kemtls) on 127.0.0.1 with real keystores: the handshake proves the
// signer answers, holds the pinned key and accepts this node's identity. It
// sends no signing request. Each failure is violation 18 alone.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeystore, openKeystore } from '../../src/keystore/index.ts';
import { createKemtlsServer, type KemtlsServer } from '../../src/kemtls/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { nodeConfigFromArgs } from '../../src/config/resolve.ts';
import { formatReportJson, validateNodeConfig, type ValidationReport } from '../../src/config/validate.ts';

const root = mkdtempSync(join(tmpdir(), 'qbind-remote-checks-'));
const PASS = 'remote check passphrase, long enough for mainnet';
const quiet = createLogger({ write: () => undefined });
const nodeIdentity = join(root, 'node-identity');
const otherIdentity = join(root, 'other-identity');
const signerIdentity = join(root, 'signer-identity');
const consensus = join(root, 'consensus');
let server: KemtlsServer;
let port: number;
let messages = 0;

before(async () => {
  const gen = (dir: string, validatorId: bigint, role: 'consensus' | 'p2p-identity') =>
    generateKeystore({ dir, validatorId, roles: [role], passphrase: PASS, profile: 'testnet-beta', iterations: 1000, onWarning: () => undefined });
  const node = await gen(nodeIdentity, 42n, 'p2p-identity');
  await gen(otherIdentity, 42n, 'p2p-identity');
  await gen(signerIdentity, 0n, 'p2p-identity');
  await gen(consensus, 42n, 'consensus');
  const signerKs = await openKeystore(signerIdentity, { passphrase: PASS, profile: 'testnet-beta', onWarning: () => undefined });
  server = createKemtlsServer({ serverKey: signerKs.kemKey(), allowedClients: [node.keys[0]!.publicKey], logger: quiet });
  signerKs.close();
  server.on('connection', (conn) => conn.on('message', () => messages++));
  port = (await server.listen(0, '127.0.0.1')).port;
});

after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

function argv(over: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    '--profile': 'testnet-beta', '--validator-id': '42', '--signer-mode': 'remote-signer',
    '--remote-signer-url': `kemtls://127.0.0.1:${port}`, '--remote-signer-public-key-path': join(signerIdentity, 'p2p_identity.pub'),
    '--identity-keystore-path': nodeIdentity, ...over,
  };
  return Object.entries(flags).flat();
}

async function check(args: string[], env: NodeJS.ProcessEnv = { QBIND_KEYSTORE_PASSPHRASE: PASS }): Promise<ValidationReport> {
  const r = await validateNodeConfig(nodeConfigFromArgs(args), { env, timeoutMs: 5000 });
  assert.ok(!formatReportJson(r).includes(PASS));
  return r;
}
const check18 = (r: ValidationReport) => r.checks.find((c) => c.id === '18')!;

test('18 passes: handshake with the pinned signer key, this node accepted; no signing request sent', async () => {
  const r = await check(argv());
  assert.deepEqual(r.violations, []);
  assert.equal(check18(r).status, 'passed');
  assert.match(check18(r).detail, /KEMTLS handshake ok, signer key [0-9a-f]{32}, this node's identity accepted/);
  assert.equal(messages, 0, 'the check never sends a request');
});

test('18 broken alone: unknown node identity, wrong pinned key, a non-identity key file, closed port', async () => {
  const closed = await (async () => {
    const s = createServer();
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    const p = (s.address() as AddressInfo).port;
    await new Promise<void>((res) => s.close(() => res()));
    return p;
  })();
  const cases: [string, string[], RegExp][] = [
    ['node identity not authorized', argv({ '--identity-keystore-path': otherIdentity }), /KEMTLS handshake failed/],
    ['wrong pinned key', argv({ '--remote-signer-public-key-path': join(otherIdentity, 'p2p_identity.pub') }), /KEMTLS handshake failed/],
    ['consensus key as signer key', argv({ '--remote-signer-public-key-path': join(consensus, 'consensus.pub') }), /consensus public key; the remote signer is pinned by its p2p-identity/],
    ['closed port', argv({ '--remote-signer-url': `kemtls://127.0.0.1:${closed}` }), /unreachable/],
    ['identity keystore of another validator', argv({ '--validator-id': '43', '--identity-keystore-path': nodeIdentity }), /validator 42/],
  ];
  for (const [what, args, found] of cases) {
    const r = await check(args);
    assert.deepEqual(r.violations.map((v) => v.invariant), [18], what);
    assert.match(r.violations[0]!.found, found, what);
    assert.equal(check18(r).status, 'failed', what);
  }
});

test('18: identity passphrase not in the environment: TCP only, not checked', async () => {
  const r = await check(argv(), {});
  assert.deepEqual(r.violations, []);
  assert.equal(check18(r).status, 'not-checked');
  assert.match(check18(r).detail, /TCP connection accepted; .*QBIND_KEYSTORE_PASSPHRASE .* not set/);
});
