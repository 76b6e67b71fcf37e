// qbind-node as an operator runs it: bin/qbind-node as a child process.
// Runbook §11.2's command line as written (paths substituted) against a real
// MainNet keystore and a node.toml: exit 0 when valid, 1 with every violation
// and its fix, 2 on usage errors; --output json; without --validate-only it
// says what this package is. The passphrase never appears in any output.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeystore } from '../../src/keystore/index.ts';

const BIN = fileURLToPath(new URL('../../bin/qbind-node', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'qbind-node-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

const PASS = 'cli-test passphrase 7f3a9c long enough';
const dataDir = join(root, 'data');
const keystore = join(dataDir, 'keystore');
const nodeToml = join(root, 'node.toml');

before(async () => {
  await generateKeystore({ dir: keystore, validatorId: 42n, roles: ['consensus', 'p2p-identity'], passphrase: PASS, profile: 'mainnet', iterations: 600_000, onWarning: () => undefined });
  writeFileSync(nodeToml, `# the validator's node.toml\nvalidator_id = 42\n[signer]\nmode = "encrypted-fs"\nkeystore_path = "${keystore}"\n`);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { PATH: process.env.PATH, QBIND_NODE_CONFIG: nodeToml, QBIND_KEYSTORE_PASSPHRASE: PASS, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      assert.ok(!stdout.includes(PASS) && !stderr.includes(PASS), 'the passphrase never appears in output');
      resolve({ code, stdout, stderr });
    });
  });
}

// Runbook §11.2, as written, with /data/qbind replaced by the temp data dir.
const RUNBOOK_11_2 = `qbind-node --profile mainnet --validate-only --data-dir ${dataDir}`.split(' ').slice(1);

test('runbook §11.2: a valid MainNet validator (node.toml + keystore) exits 0', async () => {
  const r = await run(RUNBOOK_11_2);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`config file: ${nodeToml}`));
  assert.match(r.stdout, /ok +17 +keystore usable/);
  assert.match(r.stdout, /WARNING +W2 +encrypted-fs on MainNet/);
  assert.match(r.stdout, /^result: VALID$/m);
});

test('runbook §11.2 --output json: machine-readable, every check with its status', async () => {
  const r = await run([...RUNBOOK_11_2, '--output', 'json']);
  assert.equal(r.code, 0);
  const report = JSON.parse(r.stdout) as { valid: boolean; target: string; chainId: string; violations: unknown[]; checks: { id: string; status: string }[] };
  assert.equal(report.valid, true);
  assert.equal(report.target, 'mainnet');
  assert.equal(report.chainId, '0x5142494e444d4e54');
  assert.deepEqual(report.violations, []);
  assert.deepEqual(report.checks.map((c) => c.id), Array.from({ length: 19 }, (_, i) => String(i + 1)));
  assert.deepEqual(report.checks.filter((c) => c.status !== 'passed').map((c) => [c.id, c.status]), [['18', 'not-applicable'], ['19', 'not-applicable']]);
});

test('invariants violated: exit 1, all of them at once, each with number, value, source and fix', async () => {
  const r = await run([...RUNBOOK_11_2, '--enable-gas', 'false', '--signer-failure-mode', 'log-and-continue', '--snapshot-interval', '600000']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED +2 +gas_enabled == true: found false \(flag --enable-gas\); expected true/);
  assert.match(r.stdout, /fix: pass --enable-gas true or set gas_enabled = true in node\.toml/);
  assert.match(r.stdout, /FAILED +10 +signer_failure_mode == ExitOnFailure: found log-and-continue/);
  assert.match(r.stdout, /FAILED +14 +snapshot_interval_blocks in \[10,000, 500,000\]: found 600000/);
  assert.match(r.stdout, /^result: INVALID: 3 invariant\(s\) violated \(2, 10, 14\)$/m);

  const json = await run([...RUNBOOK_11_2, '--output=json', '--mempool-eviction-mode=off']);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as { valid: boolean; violations: { invariant: number; found: string; fix: string; source: string }[] };
  assert.equal(report.valid, false);
  assert.deepEqual(report.violations.map((v) => [v.invariant, v.found, v.source]), [[15, 'off', 'flag --mempool-eviction-mode']]);
});

test('a violation from node.toml names the file and key; the keystore check runs on the real keystore', async () => {
  const bad = join(root, 'bad-node.toml');
  writeFileSync(bad, `validator_id = 42\nmonetary_mode = "off"\n[signer]\nmode = "encrypted-fs"\nkeystore_path = "${keystore}"\n`);
  const r = await run(RUNBOOK_11_2, { QBIND_NODE_CONFIG: bad, QBIND_KEYSTORE_PASSPHRASE: 'Zq8-not-the-passphrase-xyzzy-0042' });
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`FAILED +12 +monetary_mode != Off: found off \\(${bad}: monetary_mode\\)`));
  assert.match(r.stdout, /FAILED +17 +keystore usable.*cannot unlock/);
  assert.ok(!r.stdout.includes('Zq8-not-the-passphrase') && !r.stderr.includes('Zq8-not-the-passphrase'));
});

test('loopback on MainNet (the most dangerous mistake) fails invariant 9', async () => {
  const r = await run([...RUNBOOK_11_2, '--signer-mode', 'loopback'], { QBIND_NODE_CONFIG: '' });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED +9 +signer_mode != LoopbackTesting: found loopback-testing \(flag --signer-mode\)/);
});

test('usage errors exit 2 with one clear line on stderr', async () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [[...RUNBOOK_11_2, '--enable-gass', 'true'], {}, /^qbind-node: unknown flag --enable-gass \(did you mean --enable-gas\?\)\n$/],
    [[...RUNBOOK_11_2, '--validator-id', 'forty-two'], {}, /--validator-id: 'forty-two' is not an unsigned 64-bit integer/],
    [[...RUNBOOK_11_2, '--output', 'xml'], {}, /--output: 'xml' is not one of text, json/],
    [RUNBOOK_11_2, { QBIND_NODE_CONFIG: join(root, 'missing.toml') }, /cannot read config file .*missing\.toml: no such file/],
    [['--config', join(root, 'node.toml'), '--validate-only', '--profile', 'testnet'], {}, /--profile: unknown network profile 'testnet'/],
  ];
  for (const [args, env, message] of cases) {
    const r = await run(args, env);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  const broken = join(root, 'broken.toml');
  writeFileSync(broken, '[signer\nmode = "hsm"\n');
  const r = await run(RUNBOOK_11_2, { QBIND_NODE_CONFIG: broken });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.toml: not valid TOML \(line 1/);
});

test('without --validate-only qbind-node says plainly it is not a node (exit 2); --help and --print-config work', async () => {
  const r = await run(['--profile', 'mainnet', '--data-dir', dataDir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /this package does not run a QBIND consensus node/);
  assert.match(r.stderr, /qbind-node --profile mainnet --validate-only --data-dir \/data\/qbind/);
  assert.equal(r.stdout, '');

  const help = await run(['--help']);
  assert.equal(help.code, 0);
  for (const flag of ['--validate-only', '--signer-keystore-path, --keystore-path', '--remote-signer-url, --remote-signer-addr', '--mempool-eviction-mode', '--fast-sync-snapshot-dir']) assert.ok(help.stdout.includes(flag), flag);

  const printed = await run(['--profile', 'mainnet', '--data-dir', dataDir, '--print-config']);
  assert.equal(printed.code, 0);
  assert.match(printed.stdout, /^profile = "mainnet"$/m);
  assert.match(printed.stdout, /^validator_id = 42$/m); // from node.toml
  assert.match(printed.stdout, new RegExp(`^data_dir = "${dataDir}"$`, 'm'));
  assert.match(printed.stdout, /^\[snapshot_config\]\nenabled = true\n/m);
});
