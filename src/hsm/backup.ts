// `qbind-hsm backup`: saves what a token lets out — every key's public key and
// attributes in a manifest, and, when a wrapping key is named, each private
// key the token agrees to wrap (AES key wrap with padding, under a key that
// never leaves the token). Never a plaintext private key: a non-extractable
// key is listed as such, with the advice to use the vendor's native backup
// (design doc §5.3.3). Files are written atomically; nothing is overwritten.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fsutil/atomic-write.ts';
import { suiteByName } from '../crypto/index.ts';
import { QbindError } from '../errors.ts';
import { HsmError } from './hsm-error.ts';
import type { HsmKeyInfo, Pkcs11Provider } from './provider.ts';

export const BACKUP_MANIFEST = 'hsm-backup.json';
export const BACKUP_FORMAT = 'qbind-hsm-backup v1';

export interface BackupKeyEntry {
  label: string;
  id: string;
  key_type: string | null;
  suite_id: number | null;
  fingerprint: string | null;
  public_key: string | null;
  sensitive: boolean;
  extractable: boolean;
  local: boolean;
  /** File name of the wrapped private key, or null. */
  wrapped_file: string | null;
  /** Why there is no wrapped file. */
  private_key: 'wrapped' | 'not-extractable' | 'not-requested' | 'refused-by-token';
  note: string;
}

export interface BackupManifest {
  format: string;
  created: string;
  token: string;
  wrapping_key: string | null;
  wrap_mechanism: string | null;
  keys: BackupKeyEntry[];
}

export interface BackupOptions {
  outputDir: string;
  /** Label of an AES secret key on the token to wrap extractable private keys with. */
  wrappingKeyLabel?: string;
  /** Only these key labels (default: every key on the token). */
  labels?: string[];
}

/** File-name-safe form of a key label. */
function fileStem(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]/g, '_');
}

export async function backupToken(provider: Pkcs11Provider, options: BackupOptions): Promise<BackupManifest> {
  let keys: HsmKeyInfo[] = await provider.listKeys();
  if (options.labels) {
    const missing = options.labels.filter((l) => !keys.some((k) => k.label === l));
    if (missing.length > 0) throw new HsmError('HSM_KEY_NOT_FOUND', `no key labelled ${missing.map((l) => `'${l}'`).join(', ')} on token '${provider.tokenLabel}'`);
    keys = keys.filter((k) => options.labels!.includes(k.label));
  }
  mkdirSync(options.outputDir, { recursive: true, mode: 0o700 });
  const entries: BackupKeyEntry[] = [];
  const files: Array<{ name: string; data: Buffer }> = [];
  for (const k of keys) {
    const entry: BackupKeyEntry = {
      label: k.label,
      id: k.id,
      key_type: k.keyType,
      suite_id: k.keyType ? suiteByName(k.keyType).id : null,
      fingerprint: k.fingerprint,
      public_key: k.publicKey ? k.publicKey.toString('base64') : null,
      sensitive: k.sensitive,
      extractable: k.extractable,
      local: k.local,
      wrapped_file: null,
      private_key: 'not-requested',
      note: '',
    };
    if (!k.extractable) {
      entry.private_key = 'not-extractable';
      entry.note = 'the token never lets this key out (CKA_EXTRACTABLE false); back it up with the HSM vendor\'s native backup';
    } else if (!options.wrappingKeyLabel) {
      entry.note = 'extractable; pass --wrap-key-label to save it wrapped under a token AES key';
    } else {
      try {
        const wrapped = await provider.wrapKey(k.label, options.wrappingKeyLabel);
        const name = `${fileStem(k.label)}.${k.id || 'noid'}.wrapped`;
        files.push({ name, data: wrapped });
        entry.wrapped_file = name;
        entry.private_key = 'wrapped';
        entry.note = `wrapped with CKM_AES_KEY_WRAP_PAD under '${options.wrappingKeyLabel}'; unwrap on a token holding that key`;
      } catch (err) {
        if (!(err instanceof HsmError) || err.code !== 'HSM_BACKUP_REFUSED') throw err;
        entry.private_key = 'refused-by-token';
        entry.note = err.message;
      }
    }
    entries.push(entry);
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    created: new Date().toISOString(),
    token: provider.tokenLabel,
    wrapping_key: options.wrappingKeyLabel ?? null,
    wrap_mechanism: options.wrappingKeyLabel ? 'CKM_AES_KEY_WRAP_PAD' : null,
    keys: entries,
  };
  for (const name of [...files.map((f) => f.name), BACKUP_MANIFEST]) {
    if (existsSync(join(options.outputDir, name))) throw new QbindError('FILE_EXISTS', `${join(options.outputDir, name)} already exists; back up into an empty folder`);
  }
  // Wrapped blobs first, manifest last: a manifest on disk means the backup is complete.
  for (const f of files) writeFileAtomic(join(options.outputDir, f.name), f.data, { mode: 0o600 });
  writeFileAtomic(join(options.outputDir, BACKUP_MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  return manifest;
}
