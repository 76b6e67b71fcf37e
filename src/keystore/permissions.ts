// File-mode policy for keystores: key files 0600, the folder 0700. Group or
// world access is refused on testnet-beta and mainnet and warned about on
// devnet and testnet-alpha (design doc §3.3, §6).

import type { ProfileName } from '../config/profiles.ts';

export const KEY_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
export const KEYSTORE_DIR_MODE = 0o700;

/** Profiles on which loose permissions are refused rather than warned about. */
export function strictPermissions(profile: ProfileName): boolean {
  return profile === 'testnet-beta' || profile === 'mainnet';
}

export function octal(mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0');
}

/** A sentence describing group/world access to a secret file, or null when there is none. */
export function secretFileAccessProblem(mode: number): string | null {
  return mode & 0o077 ? `mode ${octal(mode)} gives group or other users access (want ${octal(KEY_FILE_MODE)})` : null;
}

export interface DirModeVerdict {
  /** Group/world-writable: someone else could swap key files. */
  writable: boolean;
  problem: string | null;
}

export function dirModeVerdict(mode: number): DirModeVerdict {
  if (mode & 0o022) return { writable: true, problem: `folder mode ${octal(mode)} lets group or other users add, rename or delete files (want ${octal(KEYSTORE_DIR_MODE)})` };
  if (mode & 0o055) return { writable: false, problem: `folder mode ${octal(mode)} lets group or other users list it (want ${octal(KEYSTORE_DIR_MODE)})` };
  return { writable: false, problem: null };
}
