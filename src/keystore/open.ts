// Opening a keystore: scan the folder (policy checks, no passphrase), derive
// each key file's PBKDF2 master secret, unseal, import, and check that the
// private key matches the public key in the authenticated header. The
// derivation step is pluggable so unlock-many.ts can run it on worker threads.

import type { ProfileName } from '../config/profiles.ts';
import { importKemKey, importSigningKey } from '../crypto/index.ts';
import { createLogger } from '../log/logger.ts';
import { KeystoreError } from './keystore-error.ts';
import { deriveMaster, passphraseBytes, type KdfParams } from './kdf.ts';
import { unsealKeyFile, type ParsedKeyFile } from './key-file.ts';
import { checkPassphrasePolicy } from './passphrase.ts';
import { keyFileName, storedRolesFor, suiteOfRole, type KeyRole, type StoredRole } from './roles.ts';
import { firstScanError, scanKeystore } from './scan.ts';
import { keyInfo, UnlockedKeystore, type UnlockedKeyInfo, type UnlockedKeys } from './unlocked-keystore.ts';
import type { KemKeyPair } from '../crypto/kem.ts';

export interface OpenKeystoreOptions {
  /** null opens plaintext (devnet) keystores only. */
  passphrase: string | null;
  profile: ProfileName;
  /** Roles to unlock (default: every key file present). */
  roles?: KeyRole[];
  /** When given, every key file must belong to this validator. */
  validatorId?: bigint;
  /** Receives warnings (default: the logger). */
  onWarning?: (message: string) => void;
}

export interface PreparedKey {
  role: StoredRole;
  path: string;
  parsed: ParsedKeyFile;
}

export interface PreparedKeystore {
  dir: string;
  validatorId: bigint;
  keys: PreparedKey[];
  warnings: string[];
}

/** Everything short of the passphrase: throws the first policy or format error. */
export function prepareKeystore(dir: string, options: Omit<OpenKeystoreOptions, 'passphrase'>): PreparedKeystore {
  const scan = scanKeystore(dir, { profile: options.profile, ...(options.validatorId !== undefined ? { validatorId: options.validatorId } : {}) });
  const error = firstScanError(scan);
  if (error) throw error;
  const present = scan.keys.filter((k) => k.parsed && k.role !== 'batch-signing');
  const wanted = options.roles ? storedRolesFor(options.roles) : present.map((k) => k.role as StoredRole);
  const keys: PreparedKey[] = [];
  for (const role of wanted) {
    const k = present.find((x) => x.role === role);
    if (!k) {
      const asked = options.roles?.filter((r) => storedRolesFor([r])[0] === role).join(', ') ?? role;
      throw new KeystoreError('KEY_FILE_MISSING', `keystore ${dir} has no ${keyFileName(role)} (needed for ${asked})`);
    }
    keys.push({ role, path: k.path, parsed: k.parsed! });
  }
  return { dir, validatorId: scan.validatorId!, keys, warnings: scan.problems.filter((p) => p.severity === 'warning').map((p) => p.message) };
}

/** Derivation step: returns the PBKDF2 master secret of one key file. */
export type DeriveFn = (passphrase: Uint8Array, params: KdfParams) => Promise<Buffer>;

/** Unlocks prepared keys with their master secrets (null for plaintext files); zeroes the masters. */
export function finishKeystore(prepared: PreparedKeystore, masters: (Buffer | null)[]): UnlockedKeystore {
  const unlocked: UnlockedKeys = {};
  const info: UnlockedKeyInfo[] = [];
  try {
    prepared.keys.forEach((k, i) => {
      const secret = unsealKeyFile(k.parsed, masters[i] ?? null, k.path);
      try {
        const rs = suiteOfRole(k.role);
        let publicKey: Buffer;
        try {
          if (rs.kind === 'signature') {
            unlocked.consensus = importSigningKey(rs.suite, secret);
            publicKey = unlocked.consensus.publicKey;
          } else {
            unlocked.p2pIdentity = importKemKey(secret);
            publicKey = unlocked.p2pIdentity.publicKey;
          }
        } catch (err) {
          throw new KeystoreError('KEY_FILE_TAMPERED', `${k.path}: the decrypted private key was rejected by the crypto library`, { cause: err });
        }
        if (!publicKey.equals(k.parsed.publicKey)) {
          throw new KeystoreError('KEY_FILE_TAMPERED', `${k.path}: the private key does not match the public key in its header`);
        }
        info.push(keyInfo(k.role, publicKey, k.path, k.parsed.iterations, k.parsed.protection !== 'plaintext'));
      } finally {
        secret.fill(0);
      }
    });
  } finally {
    for (const m of masters) m?.fill(0);
  }
  return new UnlockedKeystore(prepared.dir, prepared.validatorId, unlocked, info, prepared.warnings);
}

/** Derives the master secrets of every encrypted key of a prepared keystore. */
export async function deriveMasters(prepared: PreparedKeystore, passphrase: string | null, derive: DeriveFn): Promise<(Buffer | null)[]> {
  const encrypted = prepared.keys.filter((k) => k.parsed.protection !== 'plaintext');
  if (encrypted.length > 0 && passphrase === null) {
    throw new KeystoreError('PASSPHRASE_REQUIRED', `${encrypted[0]!.path} is encrypted; a passphrase is needed to open it`);
  }
  const pw = passphraseBytes(passphrase ?? '');
  try {
    const settled = await Promise.allSettled(prepared.keys.map((k) => (k.parsed.protection === 'plaintext' ? Promise.resolve(null) : derive(pw, { salt: k.parsed.salt, iterations: k.parsed.iterations }))));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      for (const s of settled) if (s.status === 'fulfilled') s.value?.fill(0);
      throw (failed as PromiseRejectedResult).reason;
    }
    return settled.map((s) => (s as PromiseFulfilledResult<Buffer | null>).value);
  } finally {
    pw.fill(0);
  }
}

/** Opens one keystore (PBKDF2 of its keys run concurrently on libuv's pool). */
export async function openKeystore(dir: string, options: OpenKeystoreOptions): Promise<UnlockedKeystore> {
  if (options.passphrase !== null) checkPassphrasePolicy(options.passphrase, options.profile);
  const prepared = prepareKeystore(dir, options);
  const warn = options.onWarning ?? ((m: string) => createLogger().warn(m));
  for (const w of prepared.warnings) warn(w);
  const masters = await deriveMasters(prepared, options.passphrase, deriveMaster);
  return finishKeystore(prepared, masters);
}

/** Unlocks only the p2p-identity (ML-KEM-768) key of a keystore: the KEMTLS static key of a node or a signer. */
export async function openIdentityKey(dir: string, options: Omit<OpenKeystoreOptions, 'roles'>): Promise<KemKeyPair> {
  const ks = await openKeystore(dir, { ...options, roles: ['p2p-identity'] });
  try {
    return ks.kemKey();
  } finally {
    ks.close();
  }
}
