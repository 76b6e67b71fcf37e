// Reads a keystore folder without a passphrase: every role's `.key` header and
// `.pub` file, file modes, and the consistency between them. Returns every
// problem found, each an error or a warning under the profile's policy;
// opening throws the first error, `qbind-keygen inspect` lists them all.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProfileName } from '../config/profiles.ts';
import { readRegularFile, ReadRegularFileError } from '../fsutil/read-regular-file.ts';
import { KeystoreError, type KeystoreErrorCode } from './keystore-error.ts';
import { MAINNET_MIN_ITERATIONS } from './kdf.ts';
import { MAX_KEY_FILE_BYTES, parseKeyFile, type ParsedKeyFile } from './key-file.ts';
import { dirModeVerdict, secretFileAccessProblem, strictPermissions } from './permissions.ts';
import { parsePublicKeyFile, type PublicKeyInfo } from './public-key-file.ts';
import { KEY_ROLES, keyFileName, publicKeyFileName, type KeyRole } from './roles.ts';

export interface KeystoreProblem {
  code: KeystoreErrorCode;
  severity: 'error' | 'warning';
  /** File name inside the folder, or null for the folder itself. */
  file: string | null;
  message: string;
}

export interface ScannedKeyFile {
  role: KeyRole;
  name: string;
  path: string;
  mode: number | null;
  /** Null when the file could not be read or parsed (see problems). */
  parsed: ParsedKeyFile | null;
}

export interface ScannedPublicFile {
  role: KeyRole;
  name: string;
  path: string;
  info: PublicKeyInfo | null;
}

export interface KeystoreScan {
  dir: string;
  dirMode: number;
  /** The validator all readable key files agree on, or null. */
  validatorId: bigint | null;
  keys: ScannedKeyFile[];
  publics: ScannedPublicFile[];
  /** `*.key` files that are not a role's file. */
  unknownKeyFiles: string[];
  problems: KeystoreProblem[];
}

export interface ScanOptions {
  profile: ProfileName;
  /** When given, every file must be for this validator. */
  validatorId?: bigint;
}

/** Throws KEYSTORE_NOT_FOUND / KEYSTORE_NOT_A_DIRECTORY; everything else becomes a problem. */
export function statKeystoreDir(dir: string): number {
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new KeystoreError('KEYSTORE_NOT_A_DIRECTORY', `keystore ${dir} is not a folder`);
    return st.mode;
  } catch (err) {
    if (err instanceof KeystoreError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KeystoreError('KEYSTORE_NOT_FOUND', `keystore folder ${dir} does not exist`);
    if (code === 'ENOTDIR') throw new KeystoreError('KEYSTORE_NOT_A_DIRECTORY', `keystore ${dir} is not a folder (a parent is a file)`);
    throw new KeystoreError('KEYSTORE_NOT_FOUND', `cannot open keystore folder ${dir} (${code ?? 'error'})`, { cause: err });
  }
}

function readKeyFile(path: string, name: string, problems: KeystoreProblem[], profile: ProfileName): { mode: number | null; parsed: ParsedKeyFile | null } {
  const error = (code: KeystoreErrorCode, message: string): void => void problems.push({ code, severity: 'error', file: name, message });
  let data: Buffer;
  let mode: number;
  try {
    ({ data, mode } = readRegularFile(path, MAX_KEY_FILE_BYTES));
  } catch (err) {
    if (!(err instanceof ReadRegularFileError)) throw err;
    if (err.code === 'FILE_IS_SYMLINK' || err.code === 'FILE_NOT_REGULAR') error('KEY_FILE_NOT_REGULAR', `${path} is ${err.code === 'FILE_IS_SYMLINK' ? 'a symbolic link' : 'not a regular file'}; key files must be regular files`);
    else if (err.code === 'FILE_TOO_LARGE') error('KEY_FILE_CORRUPT', `${path} is corrupt: larger than ${MAX_KEY_FILE_BYTES} bytes`);
    else error('KEY_FILE_UNREADABLE', `cannot read ${path}: ${err.message}`);
    return { mode: null, parsed: null };
  }
  const access = secretFileAccessProblem(mode);
  if (access) {
    const strict = strictPermissions(profile);
    problems.push({ code: 'KEY_FILE_PERMISSIONS', severity: strict ? 'error' : 'warning', file: name, message: `${path}: ${access}${strict ? `; refused on ${profile}` : ''} (chmod 600 it)` });
  }
  try {
    return { mode, parsed: parseKeyFile(data, path) };
  } catch (err) {
    if (!(err instanceof KeystoreError)) throw err;
    error(err.code, err.message);
    return { mode, parsed: null };
  } finally {
    data.fill(0);
  }
}

export function scanKeystore(dir: string, options: ScanOptions): KeystoreScan {
  const { profile } = options;
  const dirMode = statKeystoreDir(dir);
  const problems: KeystoreProblem[] = [];
  const verdict = dirModeVerdict(dirMode);
  if (verdict.problem) {
    const refuse = verdict.writable && strictPermissions(profile);
    problems.push({ code: 'KEYSTORE_DIR_PERMISSIONS', severity: refuse ? 'error' : 'warning', file: null, message: `${dir}: ${verdict.problem}${refuse ? `; refused on ${profile}` : ''} (chmod 700 it)` });
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new KeystoreError('KEYSTORE_NOT_FOUND', `cannot list keystore folder ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  const keys: ScannedKeyFile[] = [];
  const publics: ScannedPublicFile[] = [];
  for (const role of KEY_ROLES) {
    const name = keyFileName(role);
    if (!names.includes(name)) continue;
    const path = join(dir, name);
    if (role === 'batch-signing') {
      problems.push({ code: 'KEY_ROLE_UNSUPPORTED', severity: 'error', file: name, message: `${path}: a separate batch-signing key is not supported; batch signing uses the consensus key (design doc §2.4)` });
    }
    const { mode, parsed } = readKeyFile(path, name, problems, profile);
    keys.push({ role, name, path, mode, parsed });
    if (role === 'batch-signing') continue;
    if (!parsed) continue;
    if (parsed.role !== role) {
      problems.push({ code: 'KEY_ROLE_MISMATCH', severity: 'error', file: name, message: `${path} holds a ${parsed.role} key, not a ${role} key: a file was renamed or swapped in` });
    }
    if (parsed.protection === 'plaintext') {
      const refuse = profile !== 'devnet-v0';
      problems.push({ code: 'PLAINTEXT_KEY_REFUSED', severity: refuse ? 'error' : 'warning', file: name, message: refuse ? `${path} is an unencrypted key; plaintext keys are refused outside devnet` : `${path} is an UNENCRYPTED key (devnet only)` });
    } else if (profile === 'mainnet' && parsed.iterations < MAINNET_MIN_ITERATIONS) {
      problems.push({ code: 'KEY_FILE_WEAK_KDF', severity: 'error', file: name, message: `${path} uses ${parsed.iterations} PBKDF2 iterations; mainnet requires at least ${MAINNET_MIN_ITERATIONS} (re-generate the key)` });
    }
  }

  // Validator consistency across key files and with the expected id.
  const readable = keys.filter((k) => k.parsed && k.role !== 'batch-signing');
  const ids = [...new Set(readable.map((k) => k.parsed!.validatorId))];
  const validatorId: bigint | null = ids.length === 1 ? ids[0]! : null;
  if (ids.length > 1) {
    problems.push({ code: 'KEYSTORE_VALIDATOR_MISMATCH', severity: 'error', file: null, message: `key files in ${dir} are for different validators (${readable.map((k) => `${k.name}: validator ${k.parsed!.validatorId}`).join(', ')}): a key file from another keystore was put here` });
  }
  if (options.validatorId !== undefined) {
    for (const k of readable) {
      if (k.parsed!.validatorId !== options.validatorId) {
        problems.push({ code: 'KEYSTORE_VALIDATOR_MISMATCH', severity: 'error', file: k.name, message: `${k.path} is for validator ${k.parsed!.validatorId}, not validator ${options.validatorId}` });
      }
    }
  }

  for (const role of KEY_ROLES) {
    const name = publicKeyFileName(role);
    if (!names.includes(name)) continue;
    const path = join(dir, name);
    let info: PublicKeyInfo | null = null;
    try {
      const { data } = readRegularFile(path, MAX_KEY_FILE_BYTES);
      info = parsePublicKeyFile(data.toString('utf8'), path);
    } catch (err) {
      if (!(err instanceof KeystoreError || err instanceof ReadRegularFileError)) throw err;
      problems.push({ code: 'PUBLIC_KEY_FILE_INVALID', severity: 'error', file: name, message: err instanceof KeystoreError ? err.message : `${path}: ${err.message}` });
    }
    publics.push({ role, name, path, info });
    if (!info) continue;
    if (info.role !== role) {
      problems.push({ code: 'KEY_ROLE_MISMATCH', severity: 'error', file: name, message: `${path} holds a ${info.role} public key, not a ${role} one: a file was renamed or swapped in` });
      continue;
    }
    const key = readable.find((k) => k.role === role);
    const wantValidator = key?.parsed!.validatorId ?? options.validatorId ?? validatorId;
    if (wantValidator !== undefined && wantValidator !== null && info.validatorId !== wantValidator) {
      problems.push({ code: 'KEYSTORE_VALIDATOR_MISMATCH', severity: 'error', file: name, message: `${path} is for validator ${info.validatorId} but ${key ? key.name : 'this keystore'} is for validator ${wantValidator}: a file from another keystore was put here` });
    } else if (key && !key.parsed!.publicKey.equals(info.publicKey)) {
      problems.push({ code: 'PUBLIC_KEY_STALE', severity: 'warning', file: name, message: `${path} does not match ${key.name} (fingerprint ${info.fingerprint}); the .key file is authoritative; replace the .pub (for example after runbook §10.5.4 step 6)` });
    }
  }

  if (keys.length === 0) {
    problems.push({ code: 'KEYSTORE_EMPTY', severity: 'error', file: null, message: `keystore ${dir} has no key files (${KEY_ROLES.filter((r) => r !== 'batch-signing').map(keyFileName).join(', ')})` });
  }
  const known = new Set(KEY_ROLES.map(keyFileName));
  const unknownKeyFiles = names.filter((n) => n.endsWith('.key') && !known.has(n) && !n.startsWith('.')).sort();
  return { dir, dirMode, validatorId, keys, publics, unknownKeyFiles, problems };
}

/** The first error of a scan as a KeystoreError, or null. */
export function firstScanError(scan: KeystoreScan): KeystoreError | null {
  const p = scan.problems.find((x) => x.severity === 'error');
  return p ? new KeystoreError(p.code, p.message) : null;
}
