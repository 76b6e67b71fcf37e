// Generating a keystore: fresh ML-DSA-44 / ML-KEM-768 keys for the requested
// roles, each sealed with its own salt and nonce, written as `<role>.key`
// (0600) and `<role>.pub` in a 0700 folder, atomically. Everything is checked
// before the first byte is written; a failure part-way removes what this run
// created, so a bad input leaves the folder as it was.

import { accessSync, constants, lstatSync, mkdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { ProfileName } from '../config/profiles.ts';
import { exportKemKey, exportSigningKey, generateKemKey, generateSigningKey, publicKeyFingerprint } from '../crypto/index.ts';
import { isQbindError } from '../errors.ts';
import { fsyncDir, writeFileAtomic } from '../fsutil/atomic-write.ts';
import { readRegularFile } from '../fsutil/read-regular-file.ts';
import { createLogger } from '../log/logger.ts';
import { KeystoreError } from './keystore-error.ts';
import { checkIterations, DEFAULT_ITERATIONS, deriveMaster, passphraseBytes, SALT_BYTES } from './kdf.ts';
import { MAX_KEY_FILE_BYTES, NONCE_BYTES, parseKeyFile, sealKeyFile, unsealKeyFile } from './key-file.ts';
import { checkPassphrasePolicy } from './passphrase.ts';
import { dirModeVerdict, KEY_FILE_MODE, KEYSTORE_DIR_MODE, PUBLIC_FILE_MODE, strictPermissions } from './permissions.ts';
import { formatPublicKeyFile } from './public-key-file.ts';
import { keyFileName, publicKeyFileName, storedRoleOf, storedRolesFor, STORED_ROLES, suiteOfRole, type KeyRole, type StoredRole } from './roles.ts';

export interface GenerateKeystoreOptions {
  dir: string;
  validatorId: bigint;
  roles: KeyRole[];
  /** null writes plaintext keys: devnet only, with a loud warning. */
  passphrase: string | null;
  profile: ProfileName;
  /** PBKDF2 iterations (default 600,000; mainnet refuses fewer). */
  iterations?: number;
  /** Replace existing key files (default false). */
  overwrite?: boolean;
  /** Receives warnings (default: the logger). */
  onWarning?: (message: string) => void;
}

export interface GeneratedKey {
  /** The role as requested. */
  role: KeyRole;
  /** The key file that serves it (batch-signing is served by consensus). */
  storedAs: StoredRole;
  keyFile: string;
  publicKeyFile: string;
  suiteId: number;
  suiteName: string;
  publicKey: Uint8Array;
  fingerprint: string;
  encrypted: boolean;
  iterations: number;
}

export interface GeneratedKeystore {
  dir: string;
  validatorId: bigint;
  /** One entry per requested role, in the order requested. */
  keys: GeneratedKey[];
  warnings: string[];
}

interface NewKey {
  role: StoredRole;
  publicKey: Buffer;
  fileBytes: Buffer;
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function notWritable(dir: string, err: unknown): KeystoreError {
  return new KeystoreError('OUTPUT_NOT_WRITABLE', `cannot write to output folder ${dir} (${errnoOf(err) ?? 'error'})`, { cause: err });
}

/** Checks the output folder (or its nearest existing ancestor); returns the folders that will be created, outermost first. */
function checkOutputDir(dir: string, profile: ProfileName, warnings: string[]): string[] {
  const toCreate: string[] = [];
  let cur = dir;
  for (;;) {
    let st;
    try {
      st = statSync(cur);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        toCreate.unshift(cur);
        const parent = dirname(cur);
        if (parent === cur) throw notWritable(dir, err);
        cur = parent;
        continue;
      }
      if (errnoOf(err) === 'ENOTDIR') throw new KeystoreError('OUTPUT_NOT_A_DIRECTORY', `output ${dir} is not a folder (a parent is a file)`);
      throw notWritable(dir, err);
    }
    if (!st.isDirectory()) throw new KeystoreError('OUTPUT_NOT_A_DIRECTORY', `output ${cur === dir ? dir : `${cur} (a parent of ${dir})`} is not a folder`);
    try {
      accessSync(cur, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw notWritable(cur === dir ? dir : `${cur} (to create ${dir})`, err);
    }
    if (cur === dir) {
      const verdict = dirModeVerdict(st.mode);
      if (verdict.problem) {
        if (verdict.writable && strictPermissions(profile)) throw new KeystoreError('KEYSTORE_DIR_PERMISSIONS', `${dir}: ${verdict.problem}; refused on ${profile} (chmod 700 it)`);
        warnings.push(`${dir}: ${verdict.problem} (chmod 700 it)`);
      }
    }
    return toCreate;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}

export async function generateKeystore(options: GenerateKeystoreOptions): Promise<GeneratedKeystore> {
  const { profile, passphrase } = options;
  const dir = resolve(options.dir);
  const warnings: string[] = [];
  const warn = options.onWarning ?? ((m: string) => createLogger().warn(m));

  if (options.roles.length === 0) throw new KeystoreError('BAD_KEY_ROLE', 'name at least one key role (consensus, batch-signing, p2p-identity)');
  if (new Set(options.roles).size !== options.roles.length) throw new KeystoreError('BAD_KEY_ROLE', 'a key role is listed twice');
  if (options.validatorId < 0n || options.validatorId >= 1n << 64n) throw new KeystoreError('BAD_VALIDATOR_ID', `validator id ${options.validatorId} is not an unsigned 64-bit integer`);
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  if (passphrase === null) {
    if (profile !== 'devnet-v0') throw new KeystoreError('PLAINTEXT_KEY_REFUSED', `plaintext keys are refused on ${profile}; they are for devnet only (use an encrypted keystore)`);
    warnings.push(`WARNING: writing UNENCRYPTED private keys to ${dir}; anyone who can read these files can sign as validator ${options.validatorId}. DevNet only.`);
  } else {
    checkPassphrasePolicy(passphrase, profile);
    checkIterations(iterations, profile);
  }

  const stored = storedRolesFor(options.roles);
  const toCreate = checkOutputDir(dir, profile, warnings);
  if (toCreate.length === 0) {
    for (const role of stored) {
      for (const name of [keyFileName(role), publicKeyFileName(role)]) {
        if (!options.overwrite && exists(join(dir, name))) {
          throw new KeystoreError('KEY_FILE_EXISTS', `${join(dir, name)} already exists; refusing to overwrite it (pass --overwrite to replace it)`);
        }
      }
    }
    // Keys this run does not replace must belong to the same validator.
    for (const role of STORED_ROLES.filter((r) => !stored.includes(r))) {
      const path = join(dir, keyFileName(role));
      if (!exists(path)) continue;
      let other: bigint | null = null;
      try {
        other = parseKeyFile(readRegularFile(path, MAX_KEY_FILE_BYTES).data, path).validatorId;
      } catch {
        warnings.push(`${path} could not be read as a key file; it is left as it is`);
      }
      if (other !== null && other !== options.validatorId) {
        throw new KeystoreError('KEYSTORE_VALIDATOR_MISMATCH', `${dir} already holds ${keyFileName(role)} for validator ${other}; refusing to add validator ${options.validatorId} keys to it`);
      }
    }
  }

  // Generate and seal in memory.
  const pw = passphrase === null ? null : passphraseBytes(passphrase);
  const fresh: NewKey[] = [];
  try {
    await Promise.all(
      stored.map(async (role) => {
        const rs = suiteOfRole(role);
        const pair = rs.kind === 'signature' ? generateSigningKey(rs.suite) : generateKemKey();
        const secret = rs.kind === 'signature' ? exportSigningKey(pair as ReturnType<typeof generateSigningKey>) : exportKemKey(pair);
        let master: Buffer | null = null;
        try {
          const salt = randomBytes(SALT_BYTES);
          const nonce = randomBytes(NONCE_BYTES);
          master = pw ? await deriveMaster(pw, { salt, iterations }) : null;
          const fileBytes = sealKeyFile({ role, validatorId: options.validatorId, publicKey: pair.publicKey, privateKey: secret, encryption: master ? { master, iterations, salt, nonce } : null });
          // Read back what will be written before writing it.
          const back = unsealKeyFile(parseKeyFile(fileBytes, keyFileName(role)), master, keyFileName(role));
          const same = back.equals(secret);
          back.fill(0);
          if (!same) throw new KeystoreError('KEY_FILE_CORRUPT', `internal error: ${keyFileName(role)} did not read back`);
          fresh.push({ role, publicKey: pair.publicKey, fileBytes });
        } finally {
          secret.fill(0);
          master?.fill(0);
        }
      }),
    );
  } finally {
    pw?.fill(0);
  }
  fresh.sort((a, b) => STORED_ROLES.indexOf(a.role) - STORED_ROLES.indexOf(b.role));

  // Write: folder(s) first, then each key and public file atomically.
  const created: string[] = [];
  const createdDirs: string[] = [];
  try {
    for (const d of toCreate) {
      mkdirSync(d, { mode: KEYSTORE_DIR_MODE });
      createdDirs.push(d);
      fsyncDir(dirname(d));
    }
    for (const k of fresh) {
      for (const [name, data, mode] of [
        [keyFileName(k.role), k.fileBytes, KEY_FILE_MODE],
        [publicKeyFileName(k.role), formatPublicKeyFile(k.role, options.validatorId, k.publicKey), PUBLIC_FILE_MODE],
      ] as const) {
        const path = join(dir, name);
        const existed = exists(path);
        writeFileAtomic(path, data, { mode, overwrite: options.overwrite ?? false });
        if (!existed) created.push(path);
      }
    }
  } catch (err) {
    for (const p of created.reverse()) {
      try { unlinkSync(p); } catch { /* already gone */ }
    }
    for (const d of createdDirs.reverse()) {
      try { rmdirSync(d); } catch { /* not empty or gone */ }
    }
    if (isQbindError(err, 'FILE_EXISTS')) throw new KeystoreError('KEY_FILE_EXISTS', `${err.message} (pass --overwrite to replace it)`);
    if (['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT'].includes(errnoOf(err) ?? '')) throw notWritable(dir, err);
    throw err;
  } finally {
    for (const k of fresh) k.fileBytes.fill(0);
  }

  for (const w of warnings) warn(w);
  const keys = options.roles.map((role): GeneratedKey => {
    const s = storedRoleOf(role);
    const k = fresh.find((x) => x.role === s)!;
    const { suite } = suiteOfRole(s);
    return {
      role,
      storedAs: s,
      keyFile: join(dir, keyFileName(s)),
      publicKeyFile: join(dir, publicKeyFileName(s)),
      suiteId: suite.id,
      suiteName: suite.name,
      publicKey: k.publicKey,
      fingerprint: publicKeyFingerprint(k.publicKey),
      encrypted: passphrase !== null,
      iterations: passphrase === null ? 0 : iterations,
    };
  });
  return { dir, validatorId: options.validatorId, keys, warnings };
}
