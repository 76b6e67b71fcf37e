// Test fixture for the remote signer: builds a deployment in a temp folder
// (validator keystores, signer and node identity keystores, remote_signer.toml)
// and runs the real daemon as a child process through bin/qbind-remote-signer.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeystore, generateKeystore, readPublicKeyFile } from '../../src/keystore/index.ts';
import type { KemKeyPair } from '../../src/crypto/index.ts';

export const PASSPHRASE = 'fixture-Passphrase-7f3a9c1e-UNIQUE';
export const PASS_ENV = 'QBIND_TEST_SIGNER_PASSPHRASE';
const ROOT = new URL('../../', import.meta.url).pathname;

export interface Deployment {
  dir: string;
  configPath: string;
  /** node identities by name, with the validators each may use */
  nodeIdentity(name: string): Promise<KemKeyPair>;
  signerPublicKey: Uint8Array;
  consensusPublicKey(validatorId: bigint): Uint8Array;
}

export interface DeploymentOptions {
  validators: bigint[];
  clients: { name: string; validators: bigint[] }[];
  rateLimitRps?: number;
  extra?: string;
}

async function keystore(dir: string, validatorId: bigint, role: 'consensus' | 'p2p-identity'): Promise<void> {
  await generateKeystore({ dir, validatorId, roles: [role], passphrase: PASSPHRASE, profile: 'devnet-v0', iterations: 1000, onWarning: () => undefined });
}

export async function buildDeployment(options: DeploymentOptions): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), 'qbind-rs-'));
  for (const v of options.validators) await keystore(join(dir, `validator-${v}`), v, 'consensus');
  await keystore(join(dir, 'signer-identity'), 0n, 'p2p-identity');
  for (const c of options.clients) await keystore(join(dir, `node-${c.name}`), c.validators[0] ?? 0n, 'p2p-identity');
  const [first, ...rest] = options.validators;
  const toml = [
    'listen_addr = "127.0.0.1:0"',
    'profile = "devnet-v0"',
    `validator_id = ${first}`,
    'backend_mode = "encrypted-fs"',
    `keystore_path = "validator-${first}"`,
    `passphrase_env = "${PASS_ENV}"`,
    'identity_keystore_path = "signer-identity"',
    `rate_limit_rps = ${options.rateLimitRps ?? 1000}`,
    options.extra ?? '',
    ...rest.map((v) => `[[validators]]\nvalidator_id = ${v}\nkeystore_path = "validator-${v}"`),
    ...options.clients.map((c) => `[[authorized_clients]]\nname = "${c.name}"\npublic_key_path = "node-${c.name}/p2p_identity.pub"\nvalidators = [${c.validators.join(', ')}]`),
  ].join('\n');
  const configPath = join(dir, 'remote_signer.toml');
  writeFileSync(configPath, toml + '\n');
  return {
    dir,
    configPath,
    async nodeIdentity(name) {
      const ks = await openKeystore(join(dir, `node-${name}`), { passphrase: PASSPHRASE, profile: 'devnet-v0' });
      const k = ks.kemKey();
      ks.close();
      return k;
    },
    signerPublicKey: readPublicKeyFile(join(dir, 'signer-identity', 'p2p_identity.pub')).publicKey,
    consensusPublicKey: (v) => readPublicKeyFile(join(dir, `validator-${v}`, 'consensus.pub')).publicKey,
  };
}

export interface DaemonProcess {
  child: ChildProcess;
  port: number;
  url: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts bin/qbind-remote-signer and waits for its 'remote signer ready' line. */
export function startDaemon(configPath: string, args: string[] = []): Promise<DaemonProcess> {
  const child = spawn(join(ROOT, 'bin/qbind-remote-signer'), ['--config', configPath, ...args], {
    env: { ...process.env, [PASS_ENV]: PASSPHRASE, QBIND_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not become ready:\n${out}`)), 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /"msg":"remote signer ready".*?"listen":"[^"]*:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          child,
          port,
          url: `kemtls://127.0.0.1:${port}`,
          output: () => out,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before ready:\n${out}`));
    });
  });
}

/** Runs the daemon to completion (for startup failures); returns code and output. */
export function runDaemonToExit(configPath: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(join(ROOT, 'bin/qbind-remote-signer'), ['--config', configPath, ...args], {
    env: { ...process.env, [PASS_ENV]: PASSPHRASE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}
