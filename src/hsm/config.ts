// hsm.toml: the HSM signer's configuration, in either of the two forms the
// design doc shows — the flat form of §3.5 / runbook §4.1 option B
// (library_path, token_label, key_label, pin_env_var, optional mechanism) and
// the sectioned form of §4.5 ([hsm] library, slot_id, pin = "env:VAR";
// [keys.NAME] label, key_type). Both load into one HsmConfig. The PIN itself
// is never in the file: only the name of the environment variable holding it.

import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { HsmError } from './hsm-error.ts';
import { parseKeyType, type HsmKeyType } from './key-types.ts';
import { CKM_ECDSA, CKM_ECDSA_SHA256, CKM_EDDSA, CKM_ML_DSA, mechanismName } from './pkcs11-constants.ts';
import { isEnvVarName } from '../config/env-var-name.ts';

export type ConfigKeyType = HsmKeyType | 'ml-kem-768';

export interface HsmKeyConfig {
  /** Role name: the [keys.NAME] table, or "consensus" for the flat form's key_label. */
  readonly name: string;
  readonly label: string;
  readonly keyType?: ConfigKeyType;
  /** Signing mechanism override (CKM_* value), e.g. a vendor mechanism. */
  readonly mechanism?: number;
}

export interface HsmConfig {
  readonly path: string;
  readonly form: 'flat' | 'sections';
  readonly libraryPath: string;
  readonly tokenLabel?: string;
  readonly slotId?: number;
  /** Name of the environment variable holding the user PIN. */
  readonly pinEnvVar: string;
  /** Session pool size. */
  readonly sessions?: number;
  /** A signing call the token has not answered within this many ms fails (0: wait forever). */
  readonly signTimeoutMs?: number;
  readonly keys: readonly HsmKeyConfig[];
}

const FLAT_FIELDS = ['library_path', 'token_label', 'key_label', 'pin_env_var', 'mechanism', 'key_type', 'slot_id', 'sessions', 'sign_timeout_ms'];
const HSM_FIELDS = ['library', 'slot_id', 'token_label', 'pin', 'sessions', 'sign_timeout_ms'];
const KEY_FIELDS = ['label', 'key_type', 'mechanism'];

const MECHANISMS: Record<string, number> = {
  'ml-dsa': CKM_ML_DSA, ckm_ml_dsa: CKM_ML_DSA,
  eddsa: CKM_EDDSA, ckm_eddsa: CKM_EDDSA,
  ecdsa: CKM_ECDSA, ckm_ecdsa: CKM_ECDSA,
  'ecdsa-sha256': CKM_ECDSA_SHA256, ckm_ecdsa_sha256: CKM_ECDSA_SHA256,
};

function bad(path: string, what: string): HsmError {
  return new HsmError('HSM_CONFIG_INVALID', `${path}: ${what}`);
}

/**
 * A mechanism named in the config: a standard name (ml-dsa, eddsa, ecdsa,
 * ecdsa-sha256, or the CKM_ constant) or a number (a vendor's CKM value,
 * as an integer or a "0x..." string).
 */
export function parseMechanism(value: unknown, where = 'mechanism'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return value;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (/^0x[0-9a-f]{1,8}$/.test(t)) return Number.parseInt(t.slice(2), 16);
    if (/^[0-9]{1,10}$/.test(t) && Number(t) <= 0xffffffff) return Number(t);
    const known = MECHANISMS[t];
    if (known !== undefined) return known;
  }
  throw new HsmError('HSM_CONFIG_INVALID', `${where} ${JSON.stringify(value)} is not a mechanism: use ml-dsa, eddsa, ecdsa or ecdsa-sha256, or the vendor's numeric CKM value (e.g. "0x80000004")`);
}

function expectString(path: string, table: Record<string, unknown>, field: string, required: boolean, prefix = ''): string | undefined {
  const v = table[field];
  if (v === undefined) {
    if (required) throw bad(path, `missing required field ${prefix}${field}`);
    return undefined;
  }
  if (typeof v !== 'string' || v.trim() === '') throw bad(path, `${prefix}${field} must be a non-empty string`);
  return v;
}

function expectInt(path: string, table: Record<string, unknown>, field: string, min: number, max: number, prefix = ''): number | undefined {
  const v = table[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(path, `${prefix}${field} must be an integer in ${min}..${max}`);
  return v;
}

function rejectUnknown(path: string, table: Record<string, unknown>, allowed: string[], prefix: string): void {
  for (const k of Object.keys(table)) {
    if (k === 'pin' && !allowed.includes('pin')) {
      throw bad(path, `${prefix}pin is not allowed here: a PIN is never stored in hsm.toml; name the environment variable that holds it with pin_env_var`);
    }
    if (!allowed.includes(k)) throw bad(path, `unknown field ${prefix}${k} (allowed: ${allowed.join(', ')})`);
  }
}

function parseConfigKeyType(path: string, value: string | undefined, where: string): ConfigKeyType | undefined {
  if (value === undefined) return undefined;
  if (value.trim().toLowerCase().replace(/_/g, '-') === 'ml-kem-768') return 'ml-kem-768';
  try {
    return parseKeyType(value);
  } catch (err) {
    throw bad(path, `${where}: ${(err as Error).message}`);
  }
}

function parseFlat(path: string, doc: Record<string, unknown>): HsmConfig {
  rejectUnknown(path, doc, FLAT_FIELDS, '');
  const pinEnvVar = expectString(path, doc, 'pin_env_var', true)!;
  if (!isEnvVarName(pinEnvVar)) throw bad(path, 'pin_env_var must NAME an environment variable (letters, digits, _), e.g. QBIND_HSM_PIN; the value is not shown, in case it is the PIN itself');
  const mechanism = doc.mechanism === undefined ? undefined : parseMechanism(doc.mechanism, `${path}: mechanism`);
  return {
    path,
    form: 'flat',
    libraryPath: expectString(path, doc, 'library_path', true)!,
    tokenLabel: expectString(path, doc, 'token_label', true),
    slotId: expectInt(path, doc, 'slot_id', 0, Number.MAX_SAFE_INTEGER),
    pinEnvVar,
    sessions: expectInt(path, doc, 'sessions', 1, 64),
    signTimeoutMs: expectInt(path, doc, 'sign_timeout_ms', 0, 600_000),
    keys: [{ name: 'consensus', label: expectString(path, doc, 'key_label', true)!, keyType: parseConfigKeyType(path, expectString(path, doc, 'key_type', false), 'key_type'), mechanism }],
  };
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function parseSections(path: string, doc: Record<string, unknown>): HsmConfig {
  rejectUnknown(path, doc, ['hsm', 'keys'], '');
  const hsm = doc.hsm;
  if (!isTable(hsm)) throw bad(path, 'missing [hsm] table');
  rejectUnknown(path, hsm, HSM_FIELDS, 'hsm.');
  if (typeof hsm.pin !== 'string') throw bad(path, 'missing required field hsm.pin (pin = "env:VARIABLE")');
  // Never echo the value: if it is not env:NAME it may be a PIN written into the file.
  const m = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(hsm.pin.trim());
  if (!m) throw bad(path, 'hsm.pin must be "env:VARIABLE" naming the environment variable that holds the PIN; a PIN is never read from the file');
  const slotId = expectInt(path, hsm, 'slot_id', 0, Number.MAX_SAFE_INTEGER, 'hsm.');
  const tokenLabel = expectString(path, hsm, 'token_label', false, 'hsm.');
  if (slotId === undefined && tokenLabel === undefined) throw bad(path, 'set hsm.slot_id or hsm.token_label to choose the token');
  const keysTable = doc.keys ?? {};
  if (!isTable(keysTable)) throw bad(path, '[keys] must be a table of [keys.NAME] tables');
  const keys: HsmKeyConfig[] = [];
  for (const [name, entry] of Object.entries(keysTable)) {
    if (!isTable(entry)) throw bad(path, `keys.${name} must be a table`);
    rejectUnknown(path, entry, KEY_FIELDS, `keys.${name}.`);
    keys.push({
      name,
      label: expectString(path, entry, 'label', true, `keys.${name}.`)!,
      keyType: parseConfigKeyType(path, expectString(path, entry, 'key_type', false, `keys.${name}.`), `keys.${name}.key_type`),
      mechanism: entry.mechanism === undefined ? undefined : parseMechanism(entry.mechanism, `${path}: keys.${name}.mechanism`),
    });
  }
  if (keys.length === 0) throw bad(path, 'no [keys.NAME] tables: at least one key (e.g. [keys.consensus]) is required');
  return {
    path,
    form: 'sections',
    libraryPath: expectString(path, hsm, 'library', true, 'hsm.')!,
    tokenLabel,
    slotId,
    pinEnvVar: m[1]!,
    sessions: expectInt(path, hsm, 'sessions', 1, 64, 'hsm.'),
    signTimeoutMs: expectInt(path, hsm, 'sign_timeout_ms', 0, 600_000, 'hsm.'),
    keys,
  };
}

/** Parses hsm.toml text (either form). `path` is only used in messages. */
export function parseHsmConfig(text: string, path = 'hsm.toml'): HsmConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    // No cause: the TOML error's full text quotes lines of the file, which may hold a secret.
    throw new HsmError('HSM_CONFIG_INVALID', `${path}: not valid TOML: ${first}`);
  }
  if ('hsm' in doc || 'keys' in doc) {
    const flat = Object.keys(doc).filter((k) => k !== 'hsm' && k !== 'keys');
    if (flat.length > 0) throw bad(path, `mixes the [hsm] form with top-level fields (${flat.join(', ')}); use one form`);
    return parseSections(path, doc);
  }
  return parseFlat(path, doc);
}

export function loadHsmConfig(path: string): HsmConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HsmError('HSM_CONFIG_INVALID', `cannot read HSM config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return parseHsmConfig(text, path);
}

/**
 * The key to sign with: the one labelled `keyLabel` if given (it need not be
 * listed in the config), else the flat form's key_label or [keys.consensus].
 */
export function signingKeyOf(config: HsmConfig, keyLabel?: string): HsmKeyConfig {
  let key: HsmKeyConfig | undefined;
  if (keyLabel !== undefined) key = config.keys.find((k) => k.label === keyLabel) ?? { name: keyLabel, label: keyLabel };
  else key = config.keys.find((k) => k.name === 'consensus') ?? (config.keys.length === 1 ? config.keys[0] : undefined);
  if (!key) throw bad(config.path, `no signing key chosen: add [keys.consensus] or name the key label (keys: ${config.keys.map((k) => k.name).join(', ')})`);
  if (key.keyType === 'ml-kem-768') throw new HsmError('HSM_KEY_UNSUPPORTED', `${config.path}: key '${key.label}' is an ML-KEM-768 key, which cannot sign`);
  return key;
}

/** The PIN from the environment variable the config names. Never logged, never in messages. */
export function readPin(config: HsmConfig, env: NodeJS.ProcessEnv = process.env): string {
  const pin = env[config.pinEnvVar];
  if (pin === undefined || pin === '') {
    throw new HsmError('HSM_PIN_MISSING', `the HSM PIN environment variable ${config.pinEnvVar} (named in ${config.path}) is not set`);
  }
  return pin;
}

export interface FlatConfigFields {
  libraryPath: string;
  tokenLabel: string;
  keyLabel: string;
  pinEnvVar: string;
  keyType?: HsmKeyType;
  mechanism?: number;
}

const q = (s: string): string => JSON.stringify(s);

/** hsm.toml in the flat form of design doc §3.5, as `qbind-hsm init` writes it. */
export function renderFlatConfig(f: FlatConfigFields): string {
  const lines = [
    '# PKCS#11 HSM configuration for QBIND validator (written by qbind-hsm init)',
    `library_path = ${q(f.libraryPath)}`,
    `token_label  = ${q(f.tokenLabel)}`,
    `key_label    = ${q(f.keyLabel)}`,
    `pin_env_var  = ${q(f.pinEnvVar)}`,
  ];
  if (f.keyType) lines.push(`key_type     = ${q(f.keyType)}`);
  if (f.mechanism !== undefined) lines.push(`# ${mechanismName(f.mechanism)}`, `mechanism    = "0x${f.mechanism.toString(16)}"`);
  else lines.push('# Optional: override the signing mechanism (standard name or vendor CKM value)', '# mechanism = "0x80000004"');
  return lines.join('\n') + '\n';
}
