// The `<role>.pub` text form: a version line, then `name: value` lines naming
// the role, suite, validator id and fingerprint, and the raw public key in
// base64 (what a rotation event carries). Safe to share. See docs/keystore.md.

import { readFileSync } from 'node:fs';
import { publicKeyFingerprint } from '../crypto/index.ts';
import { KeystoreError } from './keystore-error.ts';
import { parseKeyRole, suiteOfRole, type KeyRole } from './roles.ts';
import { parseU64Decimal } from '../preimage/u64.ts';

export const PUBLIC_KEY_FILE_HEADER = 'qbind-public-key v1';
const FIELDS = ['role', 'suite', 'suite-id', 'validator-id', 'fingerprint', 'public-key'] as const;
type Field = (typeof FIELDS)[number];

export interface PublicKeyInfo {
  role: KeyRole;
  suite: { id: number; name: string };
  validatorId: bigint;
  publicKey: Uint8Array;
  /** publicKeyFingerprint(publicKey): first 16 bytes of SHA3-256, hex. */
  fingerprint: string;
}

export function formatPublicKeyFile(role: KeyRole, validatorId: bigint, publicKey: Uint8Array): string {
  const { suite } = suiteOfRole(role);
  return [
    PUBLIC_KEY_FILE_HEADER,
    `role: ${role}`,
    `suite: ${suite.name}`,
    `suite-id: ${suite.id}`,
    `validator-id: ${validatorId}`,
    `fingerprint: ${publicKeyFingerprint(publicKey)}`,
    `public-key: ${Buffer.from(publicKey).toString('base64')}`,
    '',
  ].join('\n');
}

export function parsePublicKeyFile(text: string, name: string): PublicKeyInfo {
  const bad = (line: number, what: string): KeystoreError =>
    new KeystoreError('PUBLIC_KEY_FILE_INVALID', `${name}${line > 0 ? ` line ${line}` : ''}: ${what}`);
  const values = new Map<Field, string>();
  let sawHeader = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (!sawHeader) {
      if (line !== PUBLIC_KEY_FILE_HEADER) throw bad(i + 1, `expected '${PUBLIC_KEY_FILE_HEADER}' as the first line`);
      sawHeader = true;
      continue;
    }
    const m = /^([a-z-]+): (\S+)$/.exec(line);
    if (!m) throw bad(i + 1, "expected 'name: value'");
    const field = m[1] as Field;
    if (!FIELDS.includes(field)) throw bad(i + 1, `unknown field '${m[1]}'`);
    if (values.has(field)) throw bad(i + 1, `field '${field}' appears twice`);
    values.set(field, m[2]!);
  }
  if (!sawHeader) throw bad(0, 'empty file');
  for (const f of FIELDS) if (!values.has(f)) throw bad(0, `missing field '${f}'`);
  const get = (f: Field): string => values.get(f)!;

  let role: KeyRole;
  try {
    role = parseKeyRole(get('role'));
  } catch {
    throw bad(0, `unknown role '${get('role')}'`);
  }
  if (get('role') !== role) throw bad(0, `role must be written '${role}'`);
  const { suite } = suiteOfRole(role);
  if (get('suite') !== suite.name || get('suite-id') !== String(suite.id)) {
    throw bad(0, `suite ${get('suite')} (${get('suite-id')}) is not the ${role} suite ${suite.name} (${suite.id})`);
  }
  const validatorId = parseU64Decimal(get('validator-id'));
  if (validatorId === null) throw bad(0, `validator-id '${get('validator-id')}' is not an unsigned 64-bit decimal`);
  const b64 = get('public-key');
  const publicKey = Buffer.from(b64, 'base64');
  if (publicKey.toString('base64') !== b64) throw bad(0, 'public-key is not canonical base64');
  if (publicKey.length !== suite.publicKeyBytes) throw bad(0, `public-key is ${publicKey.length} bytes, ${suite.name} keys are ${suite.publicKeyBytes}`);
  const fingerprint = publicKeyFingerprint(publicKey);
  if (get('fingerprint') !== fingerprint) throw bad(0, 'fingerprint does not match public-key');
  return { role, suite: { id: suite.id, name: suite.name }, validatorId, publicKey, fingerprint };
}

/** Reads and checks a `.pub` file. */
export function readPublicKeyFile(path: string): PublicKeyInfo {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeystoreError('PUBLIC_KEY_FILE_INVALID', `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? 'error'}`, { cause: err });
  }
  return parsePublicKeyFile(text, path);
}
