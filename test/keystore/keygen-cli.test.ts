// qbind-keygen as a real child process (bin/qbind-keygen): the runbook's
// command lines verbatim (only /data/qbind moved under a temp folder) at the
// default 600,000 iterations and mainnet profile; every bad input of issue 3
// item 6 with its own code, a non-zero exit and the folder byte-for-byte
// unchanged; inspect and verify --output json; no passphrase in any output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPublicKeyFile } from '../../src/keystore/index.ts';
import { allOutput, errorCode, keygen, run, shell, snapshot, tempDir } from './helpers.ts';

const PASS = 'Rb-runbook-SECRET-passphrase-9047';
const WRONG = 'Wr-wrong-SECRET-passphrase-1234';
const SHORT = 'Sh-SECRET-short';
const ENV = { QBIND_KEYSTORE_PASSPHRASE: PASS };

// Runbook command lines, exactly as printed (§4.1 steps 1 and 3, §6.2 step 1,
// §10.5.1 step 5, §10.5.3 scenario A step 4, §10.5.4 steps 2 and 6).
const RB_4_1_STEP_1 = `qbind-keygen generate \\
  --output /data/qbind/keystore \\
  --validator-id 42 \\
  --key-roles consensus,p2p-identity,batch-signing \\
  --encrypt \\
  --passphrase-env QBIND_KEYSTORE_PASSPHRASE`;
const RB_4_1_STEP_3 = `qbind-keygen verify \\
  --keystore /data/qbind/keystore \\
  --passphrase-env QBIND_KEYSTORE_PASSPHRASE`;
const RB_6_2_STEP_1 = `qbind-keygen generate \\
  --output /data/qbind/keystore/new \\
  --validator-id 42 \\
  --key-role consensus \\
  --encrypt \\
  --passphrase-env QBIND_KEYSTORE_PASSPHRASE`;
const RB_10_5_1_STEP_5 = `qbind-keygen generate \\
     --output /data/qbind/keystore/emergency \\
     --validator-id 42 \\
     --key-role consensus \\
     --encrypt \\
     --passphrase-env QBIND_KEYSTORE_PASSPHRASE`;
const RB_10_5_3 = `# Generate on backup infrastructure
   qbind-keygen generate \\
     --output /data/qbind/keystore/emergency \\
     --validator-id 42 \\
     --key-role consensus \\
     --encrypt \\
     --passphrase-env QBIND_KEYSTORE_PASSPHRASE`;
const RB_10_5_4_STEP_2 = `qbind-keygen generate \\
     --output /data/qbind/keystore/new-p2p \\
     --validator-id 42 \\
     --key-role p2p-identity \\
     --encrypt \\
     --passphrase-env QBIND_KEYSTORE_PASSPHRASE`;
const RB_10_5_4_STEP_6_MV = `mv /data/qbind/keystore/current/p2p_identity.key \\
      /data/qbind/keystore/old/p2p_identity.key.bak
   mv /data/qbind/keystore/new-p2p/p2p_identity.key \\
      /data/qbind/keystore/current/p2p_identity.key`;

const at = (root: string, line: string): string => line.replaceAll('/data/qbind', join(root, 'data/qbind'));

test('runbook command lines run verbatim (mainnet profile, 600,000 iterations)', async (t) => {
  const root = tempDir(t);
  const ks = join(root, 'data/qbind/keystore');

  const gen = await shell(at(root, RB_4_1_STEP_1), ENV);
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(gen.stdout, /validator 42 \(profile mainnet\)/);
  assert.match(gen.stdout, /600000 iterations/);
  assert.match(gen.stdout, /batch-signing +uses the consensus key/);
  for (const f of ['consensus.key', 'p2p_identity.key']) assert.equal(statSync(join(ks, f)).mode & 0o777, 0o600, f);
  assert.equal(statSync(ks).mode & 0o777, 0o700);
  const consensus = readPublicKeyFile(join(ks, 'consensus.pub'));
  const p2p = readPublicKeyFile(join(ks, 'p2p_identity.pub'));
  assert.equal(consensus.validatorId, 42n);
  assert.equal(p2p.suite.id, 200);

  const verify = await shell(at(root, RB_4_1_STEP_3), ENV);
  assert.equal(verify.code, 0, verify.stderr);
  assert.ok(verify.stdout.includes(`consensus+batch-signing ml-dsa-44 ${consensus.fingerprint}`), verify.stdout);
  assert.ok(verify.stdout.includes(`p2p-identity ml-kem-768 ${p2p.fingerprint}`));

  for (const [line, dir] of [[RB_6_2_STEP_1, 'new'], [RB_10_5_1_STEP_5, 'emergency']] as const) {
    const r = await shell(at(root, line), ENV);
    assert.equal(r.code, 0, r.stderr);
    const pub = readPublicKeyFile(join(ks, dir, 'consensus.pub'));
    assert.equal(pub.role, 'consensus');
    assert.equal(pub.validatorId, 42n);
    assert.notEqual(pub.fingerprint, consensus.fingerprint, 'a new key');
    assert.ok(!existsSync(join(ks, dir, 'p2p_identity.key')));
  }

  // §10.5.3 on the backup host (a second root); on the first host the key is in the way.
  const backup = tempDir(t);
  const r1053 = await shell(at(backup, RB_10_5_3), ENV);
  assert.equal(r1053.code, 0, r1053.stderr);
  const before = snapshot(ks);
  const again = await shell(at(root, RB_10_5_3), ENV);
  assert.equal(again.code, 1);
  assert.equal(errorCode(again.stderr), 'KEY_FILE_EXISTS');
  assert.deepEqual(snapshot(ks), before);

  // §10.5.4: new P2P identity, then step 6 moves only the .key into the current keystore.
  const current = at(root, RB_4_1_STEP_1).replace(`--output ${ks}`, `--output ${join(ks, 'current')}`);
  assert.equal((await shell(current, ENV)).code, 0);
  mkdirSync(join(ks, 'old'), { mode: 0o700 });
  const r1054 = await shell(at(root, RB_10_5_4_STEP_2), ENV);
  assert.equal(r1054.code, 0, r1054.stderr);
  const newP2p = readPublicKeyFile(join(ks, 'new-p2p', 'p2p_identity.pub'));
  assert.equal(newP2p.role, 'p2p-identity');
  assert.equal((await shell(at(root, RB_10_5_4_STEP_6_MV))).code, 0);
  const after = await shell(at(root, RB_4_1_STEP_3).replace(ks, join(ks, 'current')), ENV);
  assert.equal(after.code, 0, after.stderr);
  assert.ok(after.stdout.includes(`p2p-identity ml-kem-768 ${newP2p.fingerprint}`), 'the moved key is the one in use');
  assert.match(after.stderr, /warning: .*p2p_identity\.pub does not match p2p_identity\.key/);
});

interface BadCase {
  name: string;
  code: string;
  message: RegExp;
  prepare?: (ks: string, root: string) => void;
  args: (ks: string, root: string) => string[];
  env?: Record<string, string | undefined>;
  uid?: number;
}

const verifyArgs = (ks: string): string[] => ['verify', '--keystore', ks, '--passphrase-env', 'QBIND_KEYSTORE_PASSPHRASE', '--profile', 'testnet-beta'];

const BAD: BadCase[] = [
  { name: 'wrong passphrase', code: 'WRONG_PASSPHRASE', message: /wrong passphrase for .*consensus\.key/, args: verifyArgs, env: { QBIND_KEYSTORE_PASSPHRASE: WRONG } },
  { name: 'unset passphrase variable', code: 'PASSPHRASE_ENV_UNSET', message: /QBIND_KEYSTORE_PASSPHRASE is not set/, args: verifyArgs, env: { QBIND_KEYSTORE_PASSPHRASE: undefined } },
  { name: 'truncated file', code: 'KEY_FILE_TRUNCATED', message: /consensus\.key is truncated: 1000 bytes, .* is 1482 bytes/, prepare: (ks) => truncateSync(join(ks, 'consensus.key'), 1000), args: verifyArgs },
  {
    name: 'one flipped byte',
    code: 'KEY_FILE_CORRUPT',
    message: /consensus\.key is corrupt: checksum mismatch/,
    prepare: (ks) => {
      const f = join(ks, 'consensus.key');
      const b = readFileSync(f);
      b[700]! ^= 0x01;
      writeFileSync(f, b);
    },
    args: verifyArgs,
  },
  { name: 'key file from another validator', code: 'KEYSTORE_VALIDATOR_MISMATCH', message: /different validators/, prepare: (ks, root) => cpSync(join(root, 'other', 'consensus.key'), join(ks, 'consensus.key')), args: verifyArgs },
  { name: 'key file of another role swapped in', code: 'KEY_ROLE_MISMATCH', message: /holds a p2p-identity key, not a consensus key/, prepare: (ks) => cpSync(join(ks, 'p2p_identity.key'), join(ks, 'consensus.key')), args: verifyArgs },
  {
    name: 'unknown format version',
    code: 'KEY_FILE_UNSUPPORTED_VERSION',
    message: /format version 2; this qbind-keygen reads version 1/,
    prepare: (ks) => {
      const f = join(ks, 'p2p_identity.key');
      const b = readFileSync(f);
      b.writeUInt16BE(2, 8);
      writeFileSync(f, b);
    },
    args: verifyArgs,
  },
  { name: 'loose permissions', code: 'KEY_FILE_PERMISSIONS', message: /mode 0644 gives group or other users access.*refused on testnet-beta/, prepare: (ks) => chmodSync(join(ks, 'consensus.key'), 0o644), args: verifyArgs },
  { name: 'missing folder', code: 'KEYSTORE_NOT_FOUND', message: /keystore folder .*nope does not exist/, args: (ks) => verifyArgs(join(ks, 'nope')) },
  {
    name: 'unwritable output folder',
    code: 'OUTPUT_NOT_WRITABLE',
    message: /cannot write to output folder .*locked/,
    prepare: (_ks, root) => {
      mkdirSync(join(root, 'locked'), { mode: 0o755 });
      chmodSync(root, 0o755);
      if (process.getuid?.() !== 0) chmodSync(join(root, 'locked'), 0o555);
    },
    args: (_ks, root) => ['generate', '--output', join(root, 'locked'), '--validator-id', '42', '--key-role', 'consensus', '--encrypt', '--passphrase-env', 'QBIND_KEYSTORE_PASSPHRASE', '--profile', 'testnet-beta', '--iterations', '1000'],
    ...(process.getuid?.() === 0 ? { uid: 65534 } : {}),
  },
  {
    name: 'an existing key in the way',
    code: 'KEY_FILE_EXISTS',
    message: /consensus\.key already exists; refusing to overwrite it/,
    args: (ks) => ['generate', '--output', ks, '--validator-id', '42', '--key-roles', 'p2p-identity,consensus', '--encrypt', '--passphrase-env', 'QBIND_KEYSTORE_PASSPHRASE', '--profile', 'testnet-beta', '--iterations', '1000'],
  },
];

test('every bad input: its own code and message, exit 1, nothing changed', async (t) => {
  // As root a folder's mode does not stop writes: that case runs the command as nobody.
  if (process.getuid?.() === 0) {
    const probe = await run('/bin/true', [], { uid: 65534 }).catch((e: Error) => e);
    assert.ok(!(probe instanceof Error), `cannot run a command as uid 65534 for the unwritable-folder case: ${String(probe)}`);
  }
  const template = tempDir(t);
  const gen = (dir: string, id: string) => keygen(['generate', '--output', dir, '--validator-id', id, '--key-roles', 'consensus,p2p-identity', '--encrypt', '--passphrase-env', 'QBIND_KEYSTORE_PASSPHRASE', '--profile', 'testnet-beta', '--iterations', '1000'], { env: ENV });
  assert.equal((await gen(join(template, 'ks'), '42')).code, 0);
  assert.equal((await gen(join(template, 'other'), '43')).code, 0);
  const codes = new Set<string>();
  for (const c of BAD) {
    const root = tempDir(t);
    cpSync(template, root, { recursive: true });
    const ks = join(root, 'ks');
    c.prepare?.(ks, root);
    const before = snapshot(root);
    const r = await keygen(c.args(ks, root), { env: { ...ENV, ...c.env }, ...(c.uid !== undefined ? { uid: c.uid } : {}) });
    assert.equal(r.code, 1, `${c.name}: exit code (stderr: ${r.stderr})`);
    assert.equal(errorCode(r.stderr), c.code, `${c.name}: ${r.stderr}`);
    assert.match(r.stderr, c.message, c.name);
    assert.equal(r.stdout, '', `${c.name}: nothing on stdout`);
    assert.deepEqual(snapshot(root), before, `${c.name}: folder unchanged`);
    codes.add(c.code);
  }
  assert.equal(codes.size, BAD.length, 'each bad input has its own code');
});

test('usage errors exit 2; mainnet passphrase rule; plaintext is loud and devnet-only', async (t) => {
  const root = tempDir(t);
  const ks = join(root, 'ks');
  const base = ['generate', '--output', ks, '--validator-id', '7', '--key-role', 'consensus'];
  const usage = async (args: string[], re: RegExp, env = ENV): Promise<void> => {
    const r = await keygen(args, { env });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  };
  await usage(base, /choose --encrypt/);
  await usage([...base, '--encrypt'], /--encrypt needs --passphrase-env VAR or --passphrase-file FILE/);
  await usage([...base, '--encrypt', '--passphrase', PASS], /would show in ps and shell history/);
  await usage([...base, '--encrypt', `--passphrase=${PASS}`], /would show in ps and shell history/);
  await usage([...base, '--encrypt', `--pass-phrase=${PASS}`], /unknown option '--pass-phrase=<hidden>'/);
  await usage([...base, '--encrypt', '--passphrase-env', 'X', '--profile', 'moonnet'], /unknown network profile 'moonnet'/);
  await usage(['generate', '--output', ks, '--validator-id', '-1', '--key-role', 'consensus', '--encrypt', '--passphrase-env', 'X'], /validator-id must be an unsigned 64-bit/);
  await usage(['generate', '--output', ks, '--validator-id', '1', '--key-roles', 'consensus,governance', '--encrypt', '--passphrase-env', 'X'], /unknown key role 'governance'/);
  await usage(['generate', '--output', ks, '--validator-id', '1', '--key-roles', 'consensus,consensus', '--encrypt', '--passphrase-env', 'X'], /listed twice/);
  await usage(['verify', '--keystore', ks, '--output', 'yaml'], /'text' or 'json'/);
  await usage([], /Usage: qbind-keygen/);

  const short = await keygen([...base, '--encrypt', '--passphrase-env', 'QBIND_KEYSTORE_PASSPHRASE'], { env: { QBIND_KEYSTORE_PASSPHRASE: SHORT } });
  assert.equal(short.code, 1);
  assert.equal(errorCode(short.stderr), 'PASSPHRASE_TOO_SHORT');
  const plainMain = await keygen([...base, '--plaintext']);
  assert.equal(errorCode(plainMain.stderr), 'PLAINTEXT_KEY_REFUSED');
  assert.equal(plainMain.code, 1);
  assert.ok(!existsSync(ks), 'nothing created');

  const plain = await keygen([...base, '--plaintext', '--profile', 'devnet']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /!{78}\nWARNING: writing UNENCRYPTED private keys/);
  assert.match(plain.stdout, /NONE \(plaintext, devnet only\)/);
  const v = await keygen(['verify', '--keystore', ks, '--profile', 'devnet']);
  assert.equal(v.code, 0, v.stderr);
  const vm = await keygen(['verify', '--keystore', ks]);
  assert.equal(errorCode(vm.stderr), 'PLAINTEXT_KEY_REFUSED');
});

test('inspect needs no passphrase and shows roles, suites, fingerprints, KDF and permission problems', async (t) => {
  const root = tempDir(t);
  const ks = join(root, 'ks');
  assert.equal((await keygen(['generate', '--output', ks, '--validator-id', '18446744073709551615', '--key-roles', 'consensus,p2p-identity', '--encrypt', '--passphrase-env', 'QBIND_KEYSTORE_PASSPHRASE', '--profile', 'testnet-beta', '--iterations', '1234'], { env: ENV })).code, 0);
  const fp = readPublicKeyFile(join(ks, 'consensus.pub')).fingerprint;
  const text = await keygen(['inspect', '--keystore', ks, '--profile', 'testnet-beta']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /validator 18446744073709551615/);
  assert.ok(text.stdout.includes(`consensus ml-dsa-44 (suite 100), validator 18446744073709551615, fingerprint ${fp}, pbkdf2-hmac-sha256 1234 iterations, 32-byte salt, chacha20-poly1305, mode 0600`));
  assert.match(text.stdout, /no problems found/);

  chmodSync(join(ks, 'p2p_identity.key'), 0o604);
  const json = await keygen(['inspect', '--keystore', ks, '--profile', 'testnet-beta', '--output', 'json']);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout) as { ok: boolean; keystores: { validatorId: string; dirMode: string; keyFiles: { file: string; suiteId: number; fingerprint: string; kdf: { iterations: number; saltBytes: number } | null; mode: string }[]; problems: { severity: string; code: string; file: string }[] }[] };
  assert.equal(doc.ok, false);
  const k = doc.keystores[0]!;
  assert.equal(k.validatorId, '18446744073709551615');
  assert.equal(k.dirMode, '0700');
  assert.deepEqual(k.keyFiles.map((f) => [f.file, f.suiteId, f.kdf?.iterations, f.kdf?.saltBytes, f.mode]), [['consensus.key', 100, 1234, 32, '0600'], ['p2p_identity.key', 200, 1234, 32, '0604']]);
  assert.equal(k.keyFiles[0]!.fingerprint, fp);
  assert.deepEqual(k.problems.map((p) => [p.severity, p.code, p.file]), [['error', 'KEY_FILE_PERMISSIONS', 'p2p_identity.key']]);
  const dev = await keygen(['inspect', '--keystore', ks, '--profile', 'devnet']);
  assert.equal(dev.code, 0, 'only a warning on devnet');
  assert.match(dev.stdout, /warning \[KEY_FILE_PERMISSIONS\]/);
});

test('verify: --output json, --passphrase-file, many keystores at once', async (t) => {
  const root = tempDir(t);
  const dirs = ['a', 'b', 'c'].map((n) => join(root, n));
  for (const [i, d] of dirs.entries()) {
    assert.equal((await keygen(['generate', '--output', d, '--validator-id', String(10 + i), '--key-role', 'consensus', '--encrypt', '--passphrase-env', 'QBIND_KEYSTORE_PASSPHRASE', '--profile', 'testnet-alpha', '--iterations', '1000'], { env: ENV })).code, 0);
  }
  const pf = join(root, 'passphrase');
  writeFileSync(pf, PASS + '\n', { mode: 0o600 });
  const r = await keygen(['verify', '--keystore', ...dirs, '--passphrase-file', pf, '--profile', 'testnet-alpha']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.match(/^OK /gm)?.length, 3);
  assert.match(r.stdout, /verified 3 of 3 keystores/);

  truncateSync(join(dirs[1]!, 'consensus.key'), 10);
  const j = await keygen(['verify', '--keystore', ...dirs, '--passphrase-file', pf, '--profile', 'testnet-alpha', '--output', 'json']);
  assert.equal(j.code, 1);
  const doc = JSON.parse(j.stdout) as { ok: boolean; keystores: { dir: string; ok: boolean; validatorId?: string; error?: { code: string } }[] };
  assert.equal(doc.ok, false);
  assert.deepEqual(doc.keystores.map((k) => [k.ok, k.validatorId ?? k.error?.code]), [[true, '10'], [false, 'KEY_FILE_TRUNCATED'], [true, '12']]);

  chmodSync(pf, 0o644);
  const loose = await keygen(['verify', '--keystore', dirs[0]!, '--passphrase-file', pf, '--profile', 'mainnet']);
  assert.equal(errorCode(loose.stderr), 'PASSPHRASE_FILE_PERMISSIONS');
});

test('no passphrase ever appears in any output of any command above', () => {
  assert.ok(allOutput.length > 40, `ran ${allOutput.length / 2} commands`);
  for (const secret of [PASS, WRONG, SHORT, 'SECRET']) {
    const hit = allOutput.find((o) => o.includes(secret));
    assert.equal(hit, undefined, `'${secret}' appeared in output`);
  }
});
