// Where the keystore passphrase comes from (an environment variable, or a file
// as in design doc §6.3) and the rules it must meet: not empty, and on mainnet
// at least 20 characters (design doc §3.3). The value is never echoed: errors
// name the variable or file, not what it holds.

import type { ProfileName } from '../config/profiles.ts';
import { readRegularFile, ReadRegularFileError, type RegularFile } from '../fsutil/read-regular-file.ts';
import { createLogger } from '../log/logger.ts';
import { KeystoreError } from './keystore-error.ts';
import { strictPermissions, octal } from './permissions.ts';
import { checkEnvVarName } from '../config/env-var-name.ts';

export const MAINNET_MIN_PASSPHRASE_CHARS = 20;
const MAX_PASSPHRASE_FILE_BYTES = 4096;

export interface PassphraseSource {
  env?: string;
  file?: string;
  profile?: ProfileName;
  /** Receives warnings (default: the logger). */
  warn?: (message: string) => void;
  /** Where `env` is looked up (default process.env). */
  environment?: NodeJS.ProcessEnv;
}

/** Throws unless the passphrase is acceptable for the profile. */
export function checkPassphrasePolicy(passphrase: string, profile: ProfileName | undefined, origin = 'the passphrase'): void {
  if (passphrase.length === 0) throw new KeystoreError('PASSPHRASE_EMPTY', `${origin} is empty`);
  if (profile === 'mainnet' && [...passphrase].length < MAINNET_MIN_PASSPHRASE_CHARS) {
    throw new KeystoreError('PASSPHRASE_TOO_SHORT', `${origin} is shorter than ${MAINNET_MIN_PASSPHRASE_CHARS} characters, the mainnet minimum (design doc §3.3)`);
  }
}

function readPassphraseFile(path: string, profile: ProfileName | undefined, warn: (m: string) => void): string {
  let file: RegularFile;
  try {
    file = readRegularFile(path, MAX_PASSPHRASE_FILE_BYTES);
  } catch (err) {
    if (err instanceof ReadRegularFileError) {
      if (err.code === 'FILE_NOT_FOUND') throw new KeystoreError('PASSPHRASE_FILE_NOT_FOUND', `passphrase file ${path} does not exist`);
      const why = err.code === 'FILE_TOO_LARGE' ? `is larger than ${MAX_PASSPHRASE_FILE_BYTES} bytes; it should hold only the passphrase` : err.code === 'FILE_IS_SYMLINK' ? 'is a symbolic link; name the file itself' : err.code === 'FILE_NOT_REGULAR' ? 'is not a regular file' : 'cannot be read';
      throw new KeystoreError('PASSPHRASE_FILE_UNREADABLE', `passphrase file ${path} ${why}`, { cause: err });
    }
    throw err;
  }
  try {
    if (file.mode & 0o044) {
      const what = `passphrase file ${path} is readable by group or other users (mode ${octal(file.mode)}; chmod 600 it)`;
      if (profile && strictPermissions(profile)) throw new KeystoreError('PASSPHRASE_FILE_PERMISSIONS', what);
      warn(what);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(file.data);
    } catch (err) {
      throw new KeystoreError('PASSPHRASE_NOT_UTF8', `passphrase file ${path} is not valid UTF-8`, { cause: err });
    }
    if (text.endsWith('\r\n')) return text.slice(0, -2);
    if (text.endsWith('\n')) return text.slice(0, -1);
    return text;
  } finally {
    file.data.fill(0);
  }
}

/**
 * Reads the passphrase from exactly one of `env` (variable name) or `file`
 * (one trailing newline stripped) and applies the profile's rules.
 */
export function readPassphrase(source: PassphraseSource): string {
  const warn = source.warn ?? ((m: string) => createLogger().warn(m));
  if ((source.env === undefined) === (source.file === undefined)) {
    throw new KeystoreError('PASSPHRASE_SOURCE', 'name exactly one passphrase source: an environment variable or a file');
  }
  if (source.env !== undefined) {
    checkEnvVarName(source.env, 'the passphrase variable (--passphrase-env, passphrase_env)');
    const value = (source.environment ?? process.env)[source.env];
    if (value === undefined) throw new KeystoreError('PASSPHRASE_ENV_UNSET', `environment variable ${source.env} is not set; export the keystore passphrase in it`);
    checkPassphrasePolicy(value, source.profile, `the passphrase in ${source.env}`);
    return value;
  }
  const value = readPassphraseFile(source.file!, source.profile, warn);
  checkPassphrasePolicy(value, source.profile, `the passphrase in ${source.file}`);
  return value;
}
