// remote_signer.toml parsing: the runbook's fields with defaults, every problem
// listed at once, a profile and chain id that do not go together, and TOML
// errors that never quote the file (it may hold a postgres:// password).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRemoteSignerConfig } from '../../src/remote/daemon-config.ts';
import { RemoteConfigError } from '../../src/remote/remote-error.ts';
import { QBIND_MAINNET_CHAIN_ID } from '../../src/preimage/index.ts';

const CLIENT_KEY = 'ab'.repeat(1184);
const BASE = `validator_id = 42
backend_mode = "hsm-pkcs11"
hsm_config_path = "/etc/qbind/hsm.toml"
identity_keystore_path = "/etc/qbind/signer-identity"
passphrase_env = "QBIND_KEYSTORE_PASSPHRASE"

[[authorized_clients]]
name = "node42"
public_key = "${CLIENT_KEY}"
validators = [42]
`;

function problems(text: string): string[] {
  try {
    parseRemoteSignerConfig(text, '/etc/qbind/remote_signer.toml');
  } catch (e) {
    if (e instanceof RemoteConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

test('defaults: the runbook fields, mainnet profile and chain, port 9443, 100 rps', () => {
  const c = parseRemoteSignerConfig(BASE, '/etc/qbind/remote_signer.toml');
  assert.deepEqual([c.listen.host, c.listen.port, c.rateLimitRps, c.profile, c.chainId], ['0.0.0.0', 9443, 100, 'mainnet', QBIND_MAINNET_CHAIN_ID]);
  assert.equal(c.protectionStore, '/etc/qbind/signer-protection.sqlite');
  assert.deepEqual(c.clients.map((x) => [x.name, [...x.validators]]), [['node42', [42n]]]);
});

test('a profile and a chain id that do not go together are refused', () => {
  assert.ok(problems(`profile = "devnet-v0"\nchain_id = "mainnet"\n${BASE}`).some((p) => /does not go with profile devnet-v0/.test(p)));
  assert.ok(problems(`chain_id = "devnet"\n${BASE}`).some((p) => /does not go with profile mainnet/.test(p)));
  assert.deepEqual(problems(`profile = "testnet-beta"\nchain_id = "testnet"\n${BASE}`), []);
});

test('every problem at once; non-integers and out-of-range ids are refused', () => {
  const p = problems(`rate_limit_rps = 1.5\nvalidator_id = -1\nbackend_mode = "floppy"\n`);
  assert.ok(p.some((x) => /rate_limit_rps/.test(x)));
  assert.ok(p.some((x) => /validator_id/.test(x)));
  assert.ok(p.some((x) => /backend_mode must be/.test(x)));
  assert.ok(p.some((x) => /authorized_clients/.test(x)));
  assert.ok(problems(BASE.replace('validator_id = 42', 'validator_id = 18446744073709551616')).some((x) => /validator_id/.test(x)));
  assert.deepEqual(problems(BASE.replace('validator_id = 42', 'validator_id = 18446744073709551615').replace('validators = [42]', 'validators = [18446744073709551615]')), []);
});

test('a TOML syntax error does not quote the file', () => {
  const p = problems(`protection_store = "postgres://signer:S3cretPw@db/qbind\n${BASE}`);
  assert.equal(p.length, 1);
  assert.match(p[0]!, /not valid TOML/);
  assert.ok(!p[0]!.includes('S3cretPw'), p[0]);
});
