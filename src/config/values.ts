// Parsers of setting values shared by flags and node.toml: enumerations with
// the seeds' spellings (signer modes: loopback, remote, hsm, EncryptedFsV1,
// ...), booleans, bounded integers, u64, fractions, paths, variable names,
// host:port addresses and the remote signer URL. Each throws a ConfigError
// BAD_VALUE naming the flag or key (`what`) and the value.

import type { NetworkEnvironment } from '../preimage/chain-id.ts';
import { parseSignerUrl } from '../remote/signer-url.ts';
import { SignerFailureMode, SignerMode } from '../signer/validator-signer.ts';
import { ConfigError } from './config-error.ts';
import { NETWORK_ENVIRONMENTS, SIGNER_FAILURE_MODES, SIGNER_MODES } from './node-config.ts';
import { parseU64Decimal } from '../preimage/u64.ts';

function canonical(text: string): string {
  return text.trim().toLowerCase().replaceAll('_', '-');
}

/**
 * Parses one of `values`, case-insensitively, with '_' for '-' and the
 * given aliases (keys already in canonical form: lower case, dashes).
 */
export function parseChoice<T extends string>(what: string, text: string, values: readonly T[], aliases: Record<string, T> = {}): T {
  const c = canonical(text);
  const hit = (values as readonly string[]).includes(c) ? (c as T) : aliases[c] ?? aliases[c.replaceAll('-', '')];
  if (hit === undefined) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not one of ${values.join(', ')}`);
  return hit;
}

const SIGNER_MODE_ALIASES: Record<string, SignerMode> = {
  loopback: SignerMode.LoopbackTesting,
  loopbacktesting: SignerMode.LoopbackTesting,
  encryptedfs: SignerMode.EncryptedFsV1,
  encryptedfsv1: SignerMode.EncryptedFsV1,
  'encrypted-fs-v1': SignerMode.EncryptedFsV1,
  remote: SignerMode.RemoteSigner,
  remotesigner: SignerMode.RemoteSigner,
  hsm: SignerMode.HsmPkcs11,
  pkcs11: SignerMode.HsmPkcs11,
  hsmpkcs11: SignerMode.HsmPkcs11,
};

/** Signer mode in the runbook's spelling or the design doc's (loopback, remote, hsm, EncryptedFsV1, ...). */
export function parseSignerMode(text: string, what = 'signer mode'): SignerMode {
  return parseChoice(what, text, SIGNER_MODES, SIGNER_MODE_ALIASES);
}

export function parseSignerFailureMode(text: string, what = 'signer failure mode'): SignerFailureMode {
  return parseChoice(what, text, SIGNER_FAILURE_MODES, {
    exit: SignerFailureMode.ExitOnFailure,
    exitonfailure: SignerFailureMode.ExitOnFailure,
    log: SignerFailureMode.LogAndContinue,
    logandcontinue: SignerFailureMode.LogAndContinue,
  });
}

export function parseEnvironment(text: string, what = 'environment'): NetworkEnvironment {
  return parseChoice(what, text, NETWORK_ENVIRONMENTS);
}

export function parseBool(what: string, text: string): boolean {
  const c = canonical(text);
  if (c === 'true') return true;
  if (c === 'false') return false;
  throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not true or false`);
}

/** A decimal integer in [min, max]. */
export function parseUint(what: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim().replaceAll('_', '');
  if (!/^[0-9]{1,16}$/.test(t)) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not a whole number`);
  const v = Number(t);
  if (v < min || v > max) throw new ConfigError('BAD_VALUE', `${what}: ${v} is out of range [${min}, ${max}]`);
  return v;
}

/** An unsigned 64-bit integer (validator ids, heights). */
export function parseU64(what: string, text: string): bigint {
  // Underscores as digit separators and leading zeros are accepted here, as TOML writes integers.
  const v = parseU64Decimal(text.trim().replaceAll('_', '').replace(/^0+(?=\d)/, ''));
  if (v === null) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not an unsigned 64-bit integer`);
  return v;
}

/** A number in (0, 1]. */
export function parseFraction(what: string, text: string): number {
  const t = text.trim();
  const v = /^(0|1)?(\.[0-9]+)?$/.test(t) && t !== '' && t !== '.' ? Number(t) : NaN;
  if (!(v > 0 && v <= 1)) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not a fraction in (0, 1]`);
  return v;
}

export function parseNonEmpty(what: string, text: string): string {
  if (text.trim() === '') throw new ConfigError('BAD_VALUE', `${what}: empty value`);
  if (/[\0\r\n]/.test(text)) throw new ConfigError('BAD_VALUE', `${what}: value contains a control character`);
  return text;
}

export function parseEnvVarName(what: string, text: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not an environment variable name`);
  return text;
}

export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** host:port with a DNS name, an IPv4 address or a [bracketed] IPv6 address; port 1-65535. */
export function parseHostPort(what: string, text: string): HostPort {
  const t = text.trim();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):([0-9]{1,5})$/.exec(t);
  const host = m?.[1] ?? m?.[2];
  const port = m ? Number(m[3]) : 0;
  if (!m || host === undefined || port < 1 || port > 65535 || (m[2] !== undefined && !HOSTNAME.test(host))) {
    throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not host:port (a DNS name, IPv4 or [IPv6] address and a port 1-65535)`);
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** A host:port, kept in its written form after checking it. */
export function parseAddress(what: string, text: string): string {
  return formatHostPort(parseHostPort(what, text));
}

/**
 * The remote signer address: `kemtls://host:port` (runbook §3.5) or a bare
 * `host:port` (design doc §6.4), read by src/remote's parser and normalized
 * to the kemtls:// form.
 */
export function parseRemoteSignerUrl(what: string, text: string): string {
  try {
    return `kemtls://${formatHostPort(parseSignerUrl(text))}`;
  } catch (err) {
    throw new ConfigError('BAD_VALUE', `${what}: '${text}' is not a remote signer address (kemtls://host:port or host:port)`, { cause: err });
  }
}

/** host and port of a normalized remote signer URL. */
export function remoteSignerEndpoint(url: string): HostPort {
  return parseSignerUrl(url);
}
