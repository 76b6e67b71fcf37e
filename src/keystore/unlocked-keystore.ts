// An opened keystore: the validator id and the unlocked key pairs by role.
// batch-signing answers with the consensus key (design doc §2.4). close()
// drops every reference so the KeyObjects can be collected.

import type { KemKeyPair, SigningKeyPair } from '../crypto/index.ts';
import { publicKeyFingerprint } from '../crypto/index.ts';
import { KeystoreError } from './keystore-error.ts';
import { storedRoleOf, suiteOfRole, type KeyRole, type StoredRole } from './roles.ts';

export interface UnlockedKeyInfo {
  role: StoredRole;
  /** The roles this key serves (consensus also serves batch-signing). */
  serves: KeyRole[];
  suiteId: number;
  suiteName: string;
  publicKey: Uint8Array;
  fingerprint: string;
  file: string;
  iterations: number;
  encrypted: boolean;
}

export interface UnlockedKeys {
  consensus?: SigningKeyPair;
  p2pIdentity?: KemKeyPair;
}

export class UnlockedKeystore {
  readonly dir: string;
  readonly validatorId: bigint;
  /** Warnings found while opening (loose modes on devnet, stale .pub files, ...). */
  readonly warnings: readonly string[];
  readonly #info: UnlockedKeyInfo[];
  #keys: UnlockedKeys | null;

  constructor(dir: string, validatorId: bigint, keys: UnlockedKeys, info: UnlockedKeyInfo[], warnings: string[]) {
    this.dir = dir;
    this.validatorId = validatorId;
    this.#keys = keys;
    this.#info = info;
    this.warnings = warnings;
  }

  /** Roles this keystore can serve now. */
  get roles(): KeyRole[] {
    return this.#info.flatMap((i) => i.serves);
  }

  /** Public facts of each unlocked key (no secrets). */
  keys(): UnlockedKeyInfo[] {
    return this.#info.map((i) => ({ ...i, serves: [...i.serves] }));
  }

  #open(): UnlockedKeys {
    if (!this.#keys) throw new KeystoreError('KEYSTORE_CLOSED', `keystore ${this.dir} is closed`);
    return this.#keys;
  }

  /** The ML-DSA-44 key of consensus or batch-signing (the same key). */
  signingKey(role: KeyRole): SigningKeyPair {
    const keys = this.#open();
    if (suiteOfRole(role).kind !== 'signature') throw new KeystoreError('KEY_NOT_LOADED', `${role} is a key-encapsulation key; use kemKey()`);
    const key = keys.consensus;
    if (!key) throw new KeystoreError('KEY_NOT_LOADED', `the ${role} key (${storedRoleOf(role)}.key) was not unlocked from ${this.dir}`);
    return key;
  }

  /** The ML-KEM-768 p2p-identity key. */
  kemKey(): KemKeyPair {
    const key = this.#open().p2pIdentity;
    if (!key) throw new KeystoreError('KEY_NOT_LOADED', `the p2p-identity key (p2p_identity.key) was not unlocked from ${this.dir}`);
    return key;
  }

  close(): void {
    this.#keys = null;
  }
}

export function keyInfo(role: StoredRole, publicKey: Uint8Array, file: string, iterations: number, encrypted: boolean): UnlockedKeyInfo {
  const { suite } = suiteOfRole(role);
  return {
    role,
    serves: role === 'consensus' ? ['consensus', 'batch-signing'] : ['p2p-identity'],
    suiteId: suite.id,
    suiteName: suite.name,
    publicKey,
    fingerprint: publicKeyFingerprint(publicKey),
    file,
    iterations,
    encrypted,
  };
}
