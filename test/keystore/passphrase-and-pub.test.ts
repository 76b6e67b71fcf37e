// readPassphrase (environment variable or file, newline handling, file mode
// policy, the mainnet 20-character rule; the value never appears in an error)
// and the `.pub` text form (round trip and strict parsing).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, publicKeyFingerprint, suiteById } from '../../src/crypto/index.ts';
import { formatPublicKeyFile, KeystoreError, parsePublicKeyFile, readPassphrase, readPublicKeyFile } from '../../src/keystore/index.ts';
import { tempDir } from './helpers.ts';

const SECRET = 'Pp-distinctive-Secret-7781-xyzzy';

function rejects(fn: () => unknown, code: string): KeystoreError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KeystoreError, `expected KeystoreError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(!caught.message.includes(SECRET) && !caught.message.includes('short-one'), 'error message must not contain the passphrase');
  return caught;
}

test('passphrase from an environment variable: unset, empty, set', () => {
  const name = `QBIND_TEST_PASS_${process.pid}`;
  delete process.env[name];
  assert.match(rejects(() => readPassphrase({ env: name }), 'PASSPHRASE_ENV_UNSET').message, new RegExp(name));
  process.env[name] = '';
  rejects(() => readPassphrase({ env: name }), 'PASSPHRASE_EMPTY');
  process.env[name] = SECRET;
  assert.equal(readPassphrase({ env: name, profile: 'mainnet' }), SECRET);
  delete process.env[name];
  rejects(() => readPassphrase({}), 'PASSPHRASE_SOURCE');
  rejects(() => readPassphrase({ env: name, file: '/x' }), 'PASSPHRASE_SOURCE');
});

test('mainnet needs at least 20 characters (code points), other profiles do not', () => {
  const name = `QBIND_TEST_PASS2_${process.pid}`;
  process.env[name] = 'short-one';
  rejects(() => readPassphrase({ env: name, profile: 'mainnet' }), 'PASSPHRASE_TOO_SHORT');
  assert.equal(readPassphrase({ env: name, profile: 'testnet-beta' }), 'short-one');
  process.env[name] = 'a'.repeat(19);
  rejects(() => readPassphrase({ env: name, profile: 'mainnet' }), 'PASSPHRASE_TOO_SHORT');
  process.env[name] = 'a'.repeat(20);
  assert.equal(readPassphrase({ env: name, profile: 'mainnet' }).length, 20);
  // 20 characters, 40 UTF-16 units: counted as 20.
  process.env[name] = '🔑'.repeat(19);
  rejects(() => readPassphrase({ env: name, profile: 'mainnet' }), 'PASSPHRASE_TOO_SHORT');
  process.env[name] = '🔑'.repeat(20);
  assert.equal(readPassphrase({ env: name, profile: 'mainnet' }), '🔑'.repeat(20));
  delete process.env[name];
});

test('passphrase file: one trailing newline stripped, mode policy, missing, symlink, not UTF-8', (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'pass');
  writeFileSync(f, SECRET + '\n', { mode: 0o600 });
  assert.equal(readPassphrase({ file: f, profile: 'mainnet' }), SECRET);
  writeFileSync(f, SECRET + '\r\n');
  assert.equal(readPassphrase({ file: f }), SECRET);
  writeFileSync(f, SECRET + '\n\n');
  assert.equal(readPassphrase({ file: f }), SECRET + '\n', 'only one newline is stripped');
  writeFileSync(f, '\n');
  rejects(() => readPassphrase({ file: f }), 'PASSPHRASE_EMPTY');

  writeFileSync(f, SECRET);
  chmodSync(f, 0o640);
  rejects(() => readPassphrase({ file: f, profile: 'mainnet' }), 'PASSPHRASE_FILE_PERMISSIONS');
  rejects(() => readPassphrase({ file: f, profile: 'testnet-beta' }), 'PASSPHRASE_FILE_PERMISSIONS');
  const warnings: string[] = [];
  assert.equal(readPassphrase({ file: f, profile: 'devnet-v0', warn: (m) => warnings.push(m) }), SECRET);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /readable by group or other users \(mode 0640/);
  assert.ok(!warnings[0]!.includes(SECRET));

  rejects(() => readPassphrase({ file: join(dir, 'nope') }), 'PASSPHRASE_FILE_NOT_FOUND');
  symlinkSync(f, join(dir, 'link'));
  rejects(() => readPassphrase({ file: join(dir, 'link') }), 'PASSPHRASE_FILE_UNREADABLE');
  writeFileSync(f, Buffer.from([0xff, 0xfe, 0x41]), { mode: 0o600 });
  chmodSync(f, 0o600);
  rejects(() => readPassphrase({ file: f }), 'PASSPHRASE_NOT_UTF8');
});

test('.pub text form round-trips and names its suite', (t) => {
  const key = generateSigningKey(suiteById(100));
  const text = formatPublicKeyFile('consensus', 42n, key.publicKey);
  assert.match(text, /^qbind-public-key v1\nrole: consensus\nsuite: ml-dsa-44\nsuite-id: 100\nvalidator-id: 42\nfingerprint: [0-9a-f]{32}\npublic-key: [A-Za-z0-9+/=]+\n$/);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'consensus.pub'), text);
  const info = readPublicKeyFile(join(dir, 'consensus.pub'));
  assert.equal(info.role, 'consensus');
  assert.deepEqual(info.suite, { id: 100, name: 'ml-dsa-44' });
  assert.equal(info.validatorId, 42n);
  assert.ok(Buffer.from(info.publicKey).equals(key.publicKey));
  assert.equal(info.fingerprint, publicKeyFingerprint(key.publicKey));
  // Comments, blank lines and CRLF are tolerated.
  assert.equal(parsePublicKeyFile('# note\n\n' + text.replaceAll('\n', '\r\n'), 'x').validatorId, 42n);
});

test('.pub parsing is strict', () => {
  const key = generateSigningKey(suiteById(100));
  const good = formatPublicKeyFile('consensus', 42n, key.publicKey);
  const bad = (text: string, re: RegExp): void => {
    assert.throws(() => parsePublicKeyFile(text, 'f.pub'), (e: unknown) => e instanceof KeystoreError && e.code === 'PUBLIC_KEY_FILE_INVALID' && re.test(e.message));
  };
  bad('', /empty file/);
  bad(good.replace('qbind-public-key v1', 'qbind-public-key v2'), /first line/);
  bad(good.replace('suite: ml-dsa-44', 'suite: ml-dsa-65'), /not the consensus suite/);
  bad(good.replace('suite-id: 100', 'suite-id: 200'), /not the consensus suite/);
  bad(good.replace('validator-id: 42', 'validator-id: 042'), /validator-id/);
  bad(good.replace('validator-id: 42', 'validator-id: 18446744073709551616'), /validator-id/);
  bad(good.replace(/fingerprint: [0-9a-f]+/, 'fingerprint: ' + '0'.repeat(32)), /fingerprint does not match/);
  bad(good.replace(/public-key: (\S+)/, (_m, b: string) => `public-key: ${b.slice(4)}`), /public-key/);
  bad(good + 'extra: 1\n', /unknown field 'extra'/);
  bad(good + 'role: consensus\n', /appears twice/);
  bad(good.replace('role: consensus\n', ''), /missing field 'role'/);
  bad(good.replace('role: consensus', 'role: validator'), /unknown role/);
  assert.throws(() => readPublicKeyFile('/nonexistent/consensus.pub'), (e: unknown) => e instanceof KeystoreError && e.code === 'PUBLIC_KEY_FILE_INVALID' && /no such file/.test(e.message));
});

test('a passphrase typed where the variable NAME belongs is never repeated', () => {
  const secret = 'correct horse battery staple 42';
  assert.throws(() => readPassphrase({ env: secret }), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'BAD_ENV_VAR_NAME' && !e.message.includes('horse'));
});
