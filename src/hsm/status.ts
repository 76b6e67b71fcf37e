// `qbind-hsm status` and the check half of `qbind-hsm init`: walks the same
// steps as the signer's startup (PIN variable, library, token, login, key,
// mechanism, probe signature) and reports each as a check, plus the token's
// facts, its keys and the mechanisms each key type needs. Stops at the first
// failed step; never includes the PIN.

import { isQbindError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { signingKeyOf, type HsmConfig } from './config.ts';
import { connectHsm } from './hsm-signer.ts';
import { defaultSignMechanism, HSM_KEY_TYPES, keyPairGenMechanism, type HsmKeyType } from './key-types.ts';
import type { Pkcs11Api } from './pkcs11-api.ts';
import {
  CKF_LOGIN_REQUIRED, CKF_TOKEN_INITIALIZED, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_INITIALIZED, CKF_USER_PIN_LOCKED,
  CKM_AES_KEY_WRAP_PAD, mechanismName,
} from './pkcs11-constants.ts';
import type { HsmKeyInfo, Pkcs11Provider, TokenStatus } from './provider.ts';

export interface StatusCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: string;
}

export interface StatusReport {
  ok: boolean;
  config: { path: string; form: string; library: string; pin_env_var: string };
  library: { manufacturer: string; description: string; cryptoki: string; version: string } | null;
  token: { label: string; slot_id: number; manufacturer: string; model: string; serial: string; flags: string[] } | null;
  keys: Array<{ label: string; id: string; key_type: string | null; fingerprint: string | null; sensitive: boolean; extractable: boolean; local: boolean }>;
  signing_key: { label: string; key_type: string | null; mechanism: string | null; fingerprint: string | null } | null;
  key_types: Array<{ key_type: HsmKeyType; keygen: boolean; sign: boolean }>;
  wrap: boolean;
  mechanisms: string[];
  checks: StatusCheck[];
}

export interface StatusOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Check this key label instead of the config's signing key. */
  keyLabel?: string;
  /** A missing signing key is reported but not a failure (init before keygen). */
  keyMayBeMissing?: boolean;
  api?: Pkcs11Api;
}

const trim = (s: string): string => s.replace(/[\s\0]+$/, '');

function tokenFlags(flags: number): string[] {
  const names: Array<[number, string]> = [
    [CKF_TOKEN_INITIALIZED, 'initialized'], [CKF_LOGIN_REQUIRED, 'login-required'], [CKF_USER_PIN_INITIALIZED, 'user-pin-initialized'],
    [CKF_USER_PIN_COUNT_LOW, 'user-pin-count-low'], [CKF_USER_PIN_FINAL_TRY, 'user-pin-final-try'], [CKF_USER_PIN_LOCKED, 'user-pin-locked'],
  ];
  return names.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
}

function keyRow(k: HsmKeyInfo): StatusReport['keys'][number] {
  return { label: k.label, id: k.id, key_type: k.keyType, fingerprint: k.fingerprint, sensitive: k.sensitive, extractable: k.extractable, local: k.local };
}

function describe(s: TokenStatus): Pick<StatusReport, 'library' | 'token' | 'key_types' | 'wrap' | 'mechanisms'> {
  const v = (x: { major: number; minor: number }): string => `${x.major}.${String(x.minor).padStart(2, '0')}`;
  return {
    library: { manufacturer: trim(s.library.manufacturerID), description: trim(s.library.libraryDescription), cryptoki: v(s.library.cryptokiVersion), version: v(s.library.libraryVersion) },
    token: { label: trim(s.token.label), slot_id: s.slotId, manufacturer: trim(s.token.manufacturerID), model: trim(s.token.model), serial: trim(s.token.serialNumber), flags: tokenFlags(s.token.flags) },
    key_types: HSM_KEY_TYPES.map((t) => ({ key_type: t, keygen: s.mechanisms.includes(keyPairGenMechanism(t)), sign: s.mechanisms.includes(defaultSignMechanism(t)) })),
    wrap: s.mechanisms.includes(CKM_AES_KEY_WRAP_PAD),
    mechanisms: s.mechanisms.map(mechanismName),
  };
}

/** Runs the checks; returns the report (never throws for HSM problems) and the connected provider when login worked. */
export async function hsmStatus(config: HsmConfig, options: StatusOptions = {}): Promise<{ report: StatusReport; provider: Pkcs11Provider | null }> {
  const report: StatusReport = {
    ok: false,
    config: { path: config.path, form: config.form, library: config.libraryPath, pin_env_var: config.pinEnvVar },
    library: null,
    token: null,
    keys: [],
    signing_key: null,
    key_types: [],
    wrap: false,
    mechanisms: [],
    checks: [],
  };
  const check = (name: string, ok: boolean, detail: string, code?: string): boolean => {
    report.checks.push({ name, ok, detail, ...(code ? { code } : {}) });
    return ok;
  };
  const fail = (name: string, err: unknown): void => {
    if (!isQbindError(err)) throw err;
    check(name, false, err.message, err.code);
  };

  let provider: Pkcs11Provider | null = null;
  try {
    provider = await connectHsm(config, { env: options.env, logger: options.logger, api: options.api, sessions: 1 });
  } catch (err) {
    fail('connect', err);
    return { report, provider: null };
  }
  check('connect', true, `library loaded, token '${provider.tokenLabel}' found, logged in as user`);
  try {
    Object.assign(report, describe(await provider.tokenStatus()));
    report.keys = (await provider.listKeys()).map(keyRow);
    check('keys', true, `${report.keys.length} key pair(s) on the token`);
  } catch (err) {
    fail('token', err);
    return { report, provider };
  }
  let label: string;
  let keyType: HsmKeyType | undefined;
  let mechanism: number | undefined;
  try {
    const key = signingKeyOf(config, options.keyLabel);
    label = key.label;
    keyType = key.keyType === 'ml-kem-768' ? undefined : key.keyType;
    mechanism = key.mechanism;
  } catch (err) {
    fail('signing key', err);
    return { report, provider };
  }
  if (!report.keys.some((k) => k.label === label) && options.keyMayBeMissing) {
    report.signing_key = { label, key_type: keyType ?? null, mechanism: null, fingerprint: null };
    check('signing key', true, `no key labelled '${label}' yet; create it with qbind-hsm keygen --config ${config.path}`);
    report.ok = report.checks.every((c) => c.ok);
    return { report, provider };
  }
  try {
    const ref = await provider.resolveKey(label, { ...(keyType ? { keyType } : {}), ...(mechanism !== undefined ? { mechanism } : {}) });
    report.signing_key = { label, key_type: ref.keyType, mechanism: mechanismName(ref.mechanism), fingerprint: report.keys.find((k) => k.label === label)?.fingerprint ?? null };
    check('signing key', true, `'${label}' is a sensitive ${ref.keyType} signing key`);
    await provider.selfTest(ref);
    check('probe signature', true, `signed a probe with ${mechanismName(ref.mechanism)}; it verifies under the key's public key`);
  } catch (err) {
    fail(report.signing_key ? 'probe signature' : 'signing key', err);
  }
  report.ok = report.checks.every((c) => c.ok);
  return { report, provider };
}

/** The human form of a status report. */
export function statusText(r: StatusReport): string {
  const lines: string[] = [];
  lines.push(`config     ${r.config.path} (${r.config.form} form), PIN from $${r.config.pin_env_var}`);
  lines.push(`library    ${r.config.library}${r.library ? ` — ${r.library.manufacturer}, ${r.library.description}, Cryptoki ${r.library.cryptoki}, version ${r.library.version}` : ''}`);
  if (r.token) {
    lines.push(`token      '${r.token.label}' in slot ${r.token.slot_id} — ${r.token.manufacturer} ${r.token.model}, serial ${r.token.serial}`);
    lines.push(`           flags: ${r.token.flags.join(', ') || 'none'}`);
  }
  if (r.key_types.length > 0) {
    lines.push('mechanisms key type    keygen  sign');
    for (const k of r.key_types) lines.push(`           ${k.key_type.padEnd(12)} ${(k.keygen ? 'yes' : 'no').padEnd(7)} ${k.sign ? 'yes' : 'no'}`);
    lines.push(`           key wrapping for backup (CKM_AES_KEY_WRAP_PAD): ${r.wrap ? 'yes' : 'no'}`);
    lines.push(`           all: ${r.mechanisms.join(', ')}`);
  }
  if (r.token) {
    lines.push(`keys       ${r.keys.length === 0 ? 'none' : `${r.keys.length} key pair(s)`}`);
    for (const k of r.keys) {
      const attrs = [k.sensitive ? 'sensitive' : 'NOT SENSITIVE', k.extractable ? 'EXTRACTABLE' : 'never extractable', k.local ? 'generated on token' : 'imported'];
      lines.push(`           ${k.label}  ${k.key_type ?? 'unsupported type'}  ${k.fingerprint ?? '(no public key object)'}  ${attrs.join(', ')}`);
    }
  }
  if (r.signing_key) lines.push(`signing    '${r.signing_key.label}' ${r.signing_key.key_type ?? ''} ${r.signing_key.mechanism ?? ''} ${r.signing_key.fingerprint ?? ''}`.trimEnd());
  for (const c of r.checks) lines.push(`check      ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.code ? `[${c.code}] ` : ''}${c.detail}`);
  lines.push(r.ok ? 'status     OK' : 'status     FAILED');
  return lines.join('\n') + '\n';
}
