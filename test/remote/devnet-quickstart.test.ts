// The README quick start as a user runs it: `qbind-remote-signer devnet` (what
// npm start runs) creates a DevNet deployment and serves it; the client command
// gets a signature and verifies it; a conflicting request is refused; a second
// start reuses everything. Real processes, real TCP on 127.0.0.1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startDevnet(dir: string, port: number): Promise<{ stop: () => Promise<number | null>; out: () => string }> {
  const child = spawn(join(ROOT, 'bin/qbind-remote-signer'), ['devnet', '--dir', dir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready:\n${out}`)), 60_000);
    const on = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('stop with Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', () => reject(new Error(`exited early:\n${out}`)));
  });
  return {
    out: () => out,
    stop: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

function client(dir: string, ...args: string[]) {
  return spawnSync(join(ROOT, 'bin/qbind-signer-client'), ['--config', join(dir, 'client.toml'), ...args], { encoding: 'utf8' });
}

test('npm start flow: devnet signer, a verified signature from the client command, restart keeps state', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'qbind-quick-')), 'devnet');
  const port = await freePort();
  let signer = await startDevnet(dir, port);
  assert.match(signer.out(), /created a DevNet signer deployment/);
  assert.equal(statSync(join(dir, 'passphrase')).mode & 0o777, 0o600);
  const first = client(dir, 'vote', '--view', '100');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /vote view 100: signature 2420 bytes/);
  assert.match(first.stdout, /verify under .*consensus\.pub \(validator 42, [0-9a-f]{32}\): ok/);
  const conflict = client(dir, 'vote', '--view', '100', '--block-hash', 'ab'.repeat(32));
  assert.equal(conflict.status, 1);
  assert.match(conflict.stderr, /DOUBLE_SIGN_REFUSED/);
  assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  assert.equal(await signer.stop(), 0);
  const firstRun = signer.out();
  const passphrase = readFileSync(join(dir, 'passphrase'), 'utf8').trim();
  signer = await startDevnet(dir, port);
  assert.doesNotMatch(signer.out(), /created a DevNet/);
  const again = client(dir, 'vote', '--view', '100', '--block-hash', 'ab'.repeat(32));
  assert.equal(again.status, 1, 'still refused after a restart');
  assert.match(again.stderr, /DOUBLE_SIGN_REFUSED/);
  assert.equal(client(dir, 'timeout', '--view', '101').status, 0);
  assert.equal(await signer.stop(), 0);
  for (const text of [firstRun, signer.out(), first.stdout, first.stderr, conflict.stderr, again.stderr]) assert.ok(!text.includes(passphrase));
  const audit = join(dir, 'signer', 'audit.log');
  assert.equal(spawnSync(join(ROOT, 'bin/qbind-remote-signer'), ['audit-verify', '--log', audit]).status, 0);
  const lines = readFileSync(audit, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('"vote"', '"proposal"');
  writeFileSync(audit, lines.join('\n'));
  const broken = spawnSync(join(ROOT, 'bin/qbind-remote-signer'), ['audit-verify', '--log', audit], { encoding: 'utf8' });
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /chain broken at line 2/);
});
