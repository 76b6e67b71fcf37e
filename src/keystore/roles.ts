// Key roles of a validator keystore (design doc §2, runbook §6.1), the file
// names each role is stored under, and the suite each role uses.
// batch-signing is not a key of its own: it is the consensus key (design doc
// §2.4, runbook §10.5.5); see docs/keystore.md.

import { ML_KEM_768, suiteById, SUITE_ML_DSA_44, type KemSuite, type SignatureSuite } from '../crypto/index.ts';
import { KeystoreError } from './keystore-error.ts';

export type KeyRole = 'consensus' | 'batch-signing' | 'p2p-identity';
export const KEY_ROLES: readonly KeyRole[] = ['consensus', 'batch-signing', 'p2p-identity'];

/** Roles that have a key file of their own. */
export type StoredRole = 'consensus' | 'p2p-identity';
export const STORED_ROLES: readonly StoredRole[] = ['consensus', 'p2p-identity'];

/** Role byte in the key file header. 2 is reserved for a separate batch-signing key. */
export const ROLE_IDS: Record<KeyRole, number> = { consensus: 1, 'batch-signing': 2, 'p2p-identity': 3 };

export function roleById(id: number): KeyRole | null {
  return KEY_ROLES.find((r) => ROLE_IDS[r] === id) ?? null;
}

/** The stored key that serves a role. */
export function storedRoleOf(role: KeyRole): StoredRole {
  return role === 'p2p-identity' ? 'p2p-identity' : 'consensus';
}

/** File stem of a role: consensus, batch_signing, p2p_identity (runbook §10.5.4). */
export function fileStem(role: KeyRole): string {
  return role.replace('-', '_');
}

export function keyFileName(role: KeyRole): string {
  return `${fileStem(role)}.key`;
}

export function publicKeyFileName(role: KeyRole): string {
  return `${fileStem(role)}.pub`;
}

export type RoleSuite = { kind: 'signature'; suite: SignatureSuite } | { kind: 'kem'; suite: KemSuite };

/** The suite a stored role uses: ML-DSA-44 (100) for signing roles, ML-KEM-768 (200) for p2p-identity. */
export function suiteOfRole(role: KeyRole): RoleSuite {
  return role === 'p2p-identity' ? { kind: 'kem', suite: ML_KEM_768 } : { kind: 'signature', suite: suiteById(SUITE_ML_DSA_44) };
}

export function parseKeyRole(text: string): KeyRole {
  const t = text.trim().toLowerCase().replace('_', '-');
  const alias: Record<string, KeyRole> = { batchsigning: 'batch-signing', p2pidentity: 'p2p-identity', p2p: 'p2p-identity' };
  const role = (KEY_ROLES as readonly string[]).includes(t) ? (t as KeyRole) : alias[t.replace('-', '')];
  if (!role) throw new KeystoreError('BAD_KEY_ROLE', `unknown key role '${text}' (known: ${KEY_ROLES.join(', ')})`);
  return role;
}

/** Parses a comma-separated role list; a role named twice is an error. */
export function parseKeyRoles(texts: readonly string[]): KeyRole[] {
  const out: KeyRole[] = [];
  for (const part of texts.flatMap((t) => t.split(','))) {
    if (part.trim() === '') throw new KeystoreError('BAD_KEY_ROLE', `empty key role in '${texts.join(',')}'`);
    const role = parseKeyRole(part);
    if (out.includes(role)) throw new KeystoreError('BAD_KEY_ROLE', `key role '${role}' is listed twice`);
    out.push(role);
  }
  return out;
}

/** The stored roles that must exist to serve `roles`, in file order. */
export function storedRolesFor(roles: readonly KeyRole[]): StoredRole[] {
  return STORED_ROLES.filter((s) => roles.some((r) => storedRoleOf(r) === s));
}
