// Shared helpers for the keystore tests: temp folders, running bin/qbind-keygen
// as a real child process, and byte-for-byte snapshots of a folder tree.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KEYGEN = join(ROOT, 'bin', 'qbind-keygen');

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'qbind-ks-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every stdout/stderr a test file saw, to check that no secret ever appears. */
export const allOutput: string[] = [];

export function run(command: string, args: string[], options: { env?: Record<string, string | undefined>; uid?: number; gid?: number; cwd?: string } = {}): Promise<RunResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env,
      cwd: options.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      allOutput.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

export function keygen(args: string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(KEYGEN, args, options);
}

/** Runs a shell command line (runbook text) with bin/ first on PATH. */
export function shell(script: string, env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run('/bin/sh', ['-c', script], { env: { ...env, PATH: `${join(ROOT, 'bin')}:${process.env.PATH ?? ''}` } });
}

/** Sorted listing of a tree: path, type, mode and SHA-256 of each file. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      out.push(`${rel || '.'} <missing>`);
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = lstatSync(p);
      const r = rel ? `${rel}/${n}` : n;
      if (st.isDirectory()) {
        out.push(`${r}/ ${(st.mode & 0o777).toString(8)}`);
        walk(p, r);
      } else {
        out.push(`${r} ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      }
    }
  };
  walk(dir, '');
  return out;
}

/** The error code printed by qbind-keygen ("error [CODE]: ..."), or null. */
export function errorCode(stderr: string): string | null {
  return /error \[([A-Z0-9_]+)\]/.exec(stderr)?.[1] ?? null;
}
