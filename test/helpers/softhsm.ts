// Test helper: a throwaway SoftHSM2 token store per test process. It writes a
// softhsm2.conf pointing at a fresh temp token directory, points
// SOFTHSM2_CONF at it (in this process, before the library is initialized,
// and in the env handed to child processes), and initializes tokens with
// softhsm2-util. Also runs pkcs11-tool (OpenSC) against the same store.
// Needs the Debian packages softhsm2 and opensc (.ci/run installs them).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';

const LIBRARY_CANDIDATES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];

export function softHsmLibrary(): string {
  const found = LIBRARY_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error(`SoftHSM2 library not found (looked in ${LIBRARY_CANDIDATES.join(', ')}); install the softhsm2 package`);
  return found;
}

export interface SoftHsmStore {
  readonly dir: string;
  readonly conf: string;
  readonly libraryPath: string;
  /** Environment for child processes: SOFTHSM2_CONF set, the PIN variable not. */
  readonly env: NodeJS.ProcessEnv;
  /** Initializes a token in a free slot. */
  initToken(label: string, pin: string, soPin?: string): void;
  /** Runs pkcs11-tool with --module set; throws with its output when it fails. */
  pkcs11Tool(args: string[]): string;
  cleanup(): void;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message} (install softhsm2 and opensc)`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Creates the store and sets process.env.SOFTHSM2_CONF to it. Create tokens before the library is initialized in-process. */
export function createSoftHsmStore(): SoftHsmStore {
  const dir = mkdtempSync(join(tmpdir(), 'qbind-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const env: NodeJS.ProcessEnv = { ...process.env, SOFTHSM2_CONF: conf };
  const libraryPath = softHsmLibrary();
  return {
    dir,
    conf,
    libraryPath,
    env,
    initToken(label, pin, soPin = '87654321') {
      const r = run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], env);
      if (r.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${r.stderr || r.stdout}`);
    },
    pkcs11Tool(args) {
      const r = run('pkcs11-tool', ['--module', libraryPath, ...args], env);
      const shown = args.map((a, i) => (args[i - 1] === '--pin' || args[i - 1] === '--so-pin' ? '***' : a)).join(' ');
      if (r.status !== 0) throw new Error(`pkcs11-tool ${shown} failed (${r.status}): ${r.stderr}${r.stdout}`);
      return r.stdout + r.stderr;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A second pkcs11js handle on the same library and token, for tests that act on the token behind a provider's back. */
export function openTokenHandle(libraryPath: string, tokenLabel: string): { lib: InstanceType<typeof pkcs11js.PKCS11>; slot: Buffer } {
  const lib = new pkcs11js.PKCS11();
  lib.load(libraryPath);
  try {
    lib.C_Initialize({ flags: 2 });
  } catch {
    // already initialized in this process: the same library state
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === tokenLabel);
  if (!slot) throw new Error(`no token labelled ${tokenLabel}`);
  return { lib, slot };
}
