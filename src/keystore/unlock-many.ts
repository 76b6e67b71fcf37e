// Unlocking many keystores at once (an operator or a remote signer serving
// thousands of validators): every key's PBKDF2 runs on a pool of worker
// threads, one per core, while the cheap steps (parsing, policy checks,
// unsealing) stay on the calling thread. A progress bar is drawn on stderr
// when it is a terminal.

import { availableParallelism } from 'node:os';
import type { ProfileName } from '../config/profiles.ts';
import { QbindError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import { createProgressBar } from '../log/progress.ts';
import { KdfPool } from './kdf-pool.ts';
import { KeystoreError } from './keystore-error.ts';
import { deriveMasters, finishKeystore, prepareKeystore, type PreparedKeystore } from './open.ts';
import { checkPassphrasePolicy } from './passphrase.ts';
import type { KeyRole } from './roles.ts';
import type { UnlockedKeystore } from './unlocked-keystore.ts';

export interface UnlockEntry {
  dir: string;
  /** Overrides the shared passphrase for this keystore. */
  passphrase?: string | null;
  /** Roles to unlock (default: every key file present). */
  roles?: KeyRole[];
  /** When given, the keystore must belong to this validator. */
  validatorId?: bigint;
}

export interface UnlockManyOptions {
  profile: ProfileName;
  /** Worker threads (default: availableParallelism()). */
  workers?: number;
  /** Called after each keystore, opened or failed. */
  onProgress?: (done: number, total: number) => void;
  /** Draw a progress bar on stderr when it is a TTY (default true). */
  progressBar?: boolean;
  onWarning?: (dir: string, message: string) => void;
}

export type UnlockOutcome = { dir: string; ok: true; keystore: UnlockedKeystore } | { dir: string; ok: false; error: QbindError };

function asQbindError(err: unknown): QbindError {
  return err instanceof QbindError ? err : new KeystoreError('KDF_WORKER_FAILED', `unexpected failure: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Opens every keystore; each outcome says whether it opened or why not. */
export async function unlockManySettled(entries: readonly (UnlockEntry | string)[], passphrase: string | null, options: UnlockManyOptions): Promise<UnlockOutcome[]> {
  const list = entries.map((e) => (typeof e === 'string' ? { dir: e } : e));
  const total = list.length;
  const bar = options.progressBar === false ? null : createProgressBar('unlocking keystores', total);
  const warn = options.onWarning ?? ((dir: string, m: string) => createLogger().warn(m, { keystore: dir }));
  let done = 0;
  const tick = (): void => {
    done++;
    options.onProgress?.(done, total);
    bar?.update(done);
  };

  const prepared: (PreparedKeystore | QbindError)[] = list.map((e) => {
    try {
      const pw = e.passphrase === undefined ? passphrase : e.passphrase;
      if (pw !== null) checkPassphrasePolicy(pw, options.profile);
      const p = prepareKeystore(e.dir, { profile: options.profile, ...(e.roles ? { roles: e.roles } : {}), ...(e.validatorId !== undefined ? { validatorId: e.validatorId } : {}) });
      for (const w of p.warnings) warn(e.dir, w);
      return p;
    } catch (err) {
      return asQbindError(err);
    }
  });
  const jobs = prepared.reduce((n, p) => n + (p instanceof QbindError ? 0 : p.keys.filter((k) => k.parsed.protection !== 'plaintext').length), 0);
  const pool = jobs > 0 ? new KdfPool(Math.min(options.workers ?? availableParallelism(), jobs)) : null;
  try {
    return await Promise.all(
      prepared.map(async (p, i): Promise<UnlockOutcome> => {
        const dir = list[i]!.dir;
        try {
          if (p instanceof QbindError) return { dir, ok: false, error: p };
          const pw = list[i]!.passphrase === undefined ? passphrase : list[i]!.passphrase!;
          const masters = await deriveMasters(p, pw, (bytes, params) => pool!.derive(bytes, params));
          return { dir, ok: true, keystore: finishKeystore(p, masters) };
        } catch (err) {
          return { dir, ok: false, error: asQbindError(err) };
        } finally {
          tick();
        }
      }),
    );
  } finally {
    bar?.finish();
    await pool?.close();
  }
}

/**
 * Opens every keystore or none: on any failure the opened ones are closed and
 * the first failure is thrown (its code kept; the message counts the others).
 */
export async function unlockMany(entries: readonly (UnlockEntry | string)[], passphrase: string | null, options: UnlockManyOptions): Promise<UnlockedKeystore[]> {
  const outcomes = await unlockManySettled(entries, passphrase, options);
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) {
    for (const o of outcomes) if (o.ok) o.keystore.close();
    const first = failed[0] as Extract<UnlockOutcome, { ok: false }>;
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more of ${outcomes.length} keystores failed)` : '';
    const message = `${first.error.message}${more}`;
    if (first.error instanceof KeystoreError) throw new KeystoreError(first.error.code, message, { cause: first.error });
    throw new QbindError(first.error.code, message, { cause: first.error });
  }
  return outcomes.map((o) => (o as Extract<UnlockOutcome, { ok: true }>).keystore);
}
