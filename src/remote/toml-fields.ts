// Field readers for the remote signer's TOML files (remote_signer.toml,
// client.toml): each records a problem and returns null instead of throwing,
// so a config's every problem is reported at once. Relative paths resolve
// against the config file's folder.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { environmentOf, parseProfileName, type ProfileName } from '../config/profiles.ts';
import { errorMessage } from '../errors.ts';
import { chainIdFor, formatChainId, parseChainId } from '../preimage/chain-id.ts';
import { RemoteConfigError } from './remote-error.ts';
import { readPassphrase } from '../keystore/passphrase.ts';

export type Table = Record<string, unknown>;

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Field readers that record a problem and return null instead of throwing. */
export class Fields {
  readonly problems: string[] = [];
  readonly baseDir: string;
  constructor(baseDir: string) {
    this.baseDir = baseDir;
  }

  str(t: Table, key: string, where: string): string | null {
    const v = t[key];
    if (v === undefined) return null;
    if (typeof v !== 'string' || v.trim() === '') {
      this.problems.push(`${where}${key} must be a non-empty string`);
      return null;
    }
    return v;
  }

  path(t: Table, key: string, where: string): string | null {
    const v = this.str(t, key, where);
    return v === null ? null : resolve(this.baseDir, v);
  }

  int(t: Table, key: string, where: string, min: number, max: number): number | null {
    const v = t[key];
    if (v === undefined) return null;
    const n = typeof v === 'bigint' ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${where}${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(String(v))}`);
      return null;
    }
    return n;
  }

  validatorId(v: unknown, where: string): bigint | null {
    if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return v;
    this.problems.push(`${where} must be a non-negative integer validator id, got ${JSON.stringify(String(v))}`);
    return null;
  }

  unknownKeys(t: Table, known: Set<string>, where: string): void {
    for (const k of Object.keys(t)) if (!known.has(k)) this.problems.push(`${where}unknown field '${k}'`);
  }
}

export interface PassphraseFields {
  passphraseEnv: string | null;
  passphraseFile: string | null;
}

/** The network profile (default mainnet: the strictest) and the chain id it implies, unless chain_id overrides it. */
export function profileAndChain(t: Table, f: Fields): { profile: ProfileName; chainId: bigint } {
  let profile: ProfileName = 'mainnet';
  const text = f.str(t, 'profile', '');
  if (text !== null) {
    try {
      profile = parseProfileName(text);
    } catch (err) {
      f.problems.push(`profile: ${errorMessage(err)}`);
    }
  }
  let chainId = chainIdFor(environmentOf(profile));
  if (t.chain_id !== undefined) {
    try {
      chainId = parseChainId(String(t.chain_id));
    } catch (err) {
      f.problems.push(`chain_id: ${errorMessage(err)}`);
    }
  }
  // The profile decides the key rules (permissions, suites, passphrase): the mainnet chain id
  // goes with the mainnet profile only, and the mainnet profile signs only the mainnet chain.
  const mainnetChain = chainIdFor('mainnet');
  if ((environmentOf(profile) === 'mainnet') !== (chainId === mainnetChain)) {
    f.problems.push(`chain_id ${formatChainId(chainId)} does not go with profile ${profile}: the mainnet chain id ${formatChainId(mainnetChain)} is for the mainnet profile only, and the mainnet profile signs only it`);
  }
  return { profile, chainId };
}

/** The passphrase from passphrase_env or passphrase_file; null when the config names neither. */
export function passphraseOf(fields: PassphraseFields, profile: ProfileName): string | null {
  if (fields.passphraseEnv !== null) return readPassphrase({ env: fields.passphraseEnv, profile });
  if (fields.passphraseFile !== null) return readPassphrase({ file: fields.passphraseFile, profile });
  return null;
}

/** passphrase_env or passphrase_file (at most one). */
export function passphraseFields(t: Table, f: Fields): PassphraseFields {
  const passphraseEnv = f.str(t, 'passphrase_env', '');
  const passphraseFile = f.path(t, 'passphrase_file', '');
  if (passphraseEnv !== null && passphraseFile !== null) f.problems.push('set only one of passphrase_env and passphrase_file');
  return { passphraseEnv, passphraseFile };
}

/** Reads and parses a TOML file; returns the top table and the field reader for it. */
export function readTomlTable(path: string, text?: string): { top: Table; fields: Fields } {
  let body = text;
  if (body === undefined) {
    try {
      body = readFileSync(path, 'utf8');
    } catch (err) {
      throw new RemoteConfigError(path, [`cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`]);
    }
  }
  try {
    return { top: parseToml(body, { integersAsBigInt: true }) as Table, fields: new Fields(dirname(resolve(path))) };
  } catch (err) {
    // Only the first line: the rest of the parser's message quotes the file, which may hold a secret (a postgres:// password).
    throw new RemoteConfigError(path, [`not valid TOML: ${errorMessage(err).split('\n')[0]}`]);
  }
}

