// PKCS#11 constants this package uses, with the values of the OASIS PKCS#11
// 3.2 header (pkcs11t.h). pkcs11js ships the 2.40 set, which lacks EdDSA and
// ML-DSA; the values here were checked against the 3.2 header, not guessed.
// Also the reverse name tables used in messages and `qbind-hsm status`.

import pkcs11js from 'pkcs11js';

// Object classes
export const CKO_PUBLIC_KEY = 0x02;
export const CKO_PRIVATE_KEY = 0x03;
export const CKO_SECRET_KEY = 0x04;

// Key types
export const CKK_EC = 0x03;
export const CKK_AES = 0x1f;
export const CKK_EC_EDWARDS = 0x40;
export const CKK_ML_KEM = 0x49;
export const CKK_ML_DSA = 0x4a;

// Attributes
export const CKA_CLASS = 0x00;
export const CKA_TOKEN = 0x01;
export const CKA_PRIVATE = 0x02;
export const CKA_LABEL = 0x03;
export const CKA_VALUE = 0x11;
export const CKA_KEY_TYPE = 0x100;
export const CKA_ID = 0x102;
export const CKA_SENSITIVE = 0x103;
export const CKA_WRAP = 0x106;
export const CKA_UNWRAP = 0x107;
export const CKA_SIGN = 0x108;
export const CKA_VERIFY = 0x10a;
export const CKA_DERIVE = 0x10c;
export const CKA_EXTRACTABLE = 0x162;
export const CKA_LOCAL = 0x163;
export const CKA_NEVER_EXTRACTABLE = 0x164;
export const CKA_ALWAYS_SENSITIVE = 0x165;
export const CKA_MODIFIABLE = 0x170;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
export const CKA_PARAMETER_SET = 0x61d;
export const CKA_SEED = 0x637;

// Mechanisms
export const CKM_EC_KEY_PAIR_GEN = 0x1040;
export const CKM_ECDSA = 0x1041;
export const CKM_ECDSA_SHA256 = 0x1044;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
export const CKM_ML_DSA_KEY_PAIR_GEN = 0x1c;
export const CKM_ML_DSA = 0x1d;
export const CKM_AES_KEY_WRAP = 0x2109;
export const CKM_AES_KEY_WRAP_PAD = 0x210a;
export const CKM_VENDOR_DEFINED = 0x80000000;

// ML-DSA parameter sets (CK_ML_DSA_PARAMETER_SET_TYPE)
export const CKP_ML_DSA_44 = 0x1;
export const CKP_ML_DSA_65 = 0x2;
export const CKP_ML_DSA_87 = 0x3;

// Sessions, users, C_Initialize flags, mechanism-info and token flags
export const CKF_RW_SESSION = 0x02;
export const CKF_SERIAL_SESSION = 0x04;
export const CKF_OS_LOCKING_OK = 0x02;
export const CKU_USER = 1;
export const CKF_SIGN = 0x800;
export const CKF_GENERATE_KEY_PAIR = 0x10000;
export const CKF_WRAP = 0x20000;
export const CKF_LOGIN_REQUIRED = 0x04;
export const CKF_USER_PIN_INITIALIZED = 0x08;
export const CKF_TOKEN_INITIALIZED = 0x400;
export const CKF_USER_PIN_COUNT_LOW = 0x10000;
export const CKF_USER_PIN_FINAL_TRY = 0x20000;
export const CKF_USER_PIN_LOCKED = 0x40000;

const EXTRA_MECHANISM_NAMES: Record<number, string> = {
  [CKM_EC_EDWARDS_KEY_PAIR_GEN]: 'CKM_EC_EDWARDS_KEY_PAIR_GEN',
  [CKM_EDDSA]: 'CKM_EDDSA',
  [CKM_ML_DSA_KEY_PAIR_GEN]: 'CKM_ML_DSA_KEY_PAIR_GEN',
  [CKM_ML_DSA]: 'CKM_ML_DSA',
  [CKM_AES_KEY_WRAP]: 'CKM_AES_KEY_WRAP',
  [CKM_AES_KEY_WRAP_PAD]: 'CKM_AES_KEY_WRAP_PAD',
  0x1056: 'CKM_EC_MONTGOMERY_KEY_PAIR_GEN',
  0x0f: 'CKM_ML_KEM_KEY_PAIR_GEN',
  0x17: 'CKM_ML_KEM',
  0x1f: 'CKM_HASH_ML_DSA',
  0x2d: 'CKM_SLH_DSA_KEY_PAIR_GEN',
  0x2e: 'CKM_SLH_DSA',
  0x403b: 'CKM_ML_DSA_EXTERNAL_MU_GEN',
  0x403c: 'CKM_ML_DSA_EXTERNAL_MU',
};

function reverseTable(prefix: string, extra: Record<number, string>): Map<number, string> {
  const table = new Map<number, string>();
  for (const [name, value] of Object.entries(pkcs11js)) {
    // First name wins, so deprecated aliases (CKM_ECDSA_KEY_PAIR_GEN) do not hide the current one.
    if (name.startsWith(prefix) && typeof value === 'number' && !table.has(value)) table.set(value, name);
  }
  for (const [value, name] of Object.entries(extra)) table.set(Number(value), name);
  return table;
}

let mechanismNames: Map<number, string> | undefined;
let returnValueNames: Map<number, string> | undefined;

/** CKM_* name of a mechanism, or its hex value when unknown (vendor mechanisms). */
export function mechanismName(mechanism: number): string {
  mechanismNames ??= reverseTable('CKM_', EXTRA_MECHANISM_NAMES);
  // pkcs11js names 0x1040 CKM_ECDSA_KEY_PAIR_GEN (deprecated alias); say the 3.x name.
  if (mechanism === CKM_EC_KEY_PAIR_GEN) return 'CKM_EC_KEY_PAIR_GEN';
  return mechanismNames.get(mechanism) ?? `0x${mechanism.toString(16).padStart(8, '0')}`;
}

/** CKR_* name of a PKCS#11 return value. */
export function returnValueName(rv: number): string {
  returnValueNames ??= reverseTable('CKR_', { 0x208: 'CKR_TOKEN_NOT_INITIALIZED', 0x209: 'CKR_PARAMETER_SET_NOT_SUPPORTED' });
  return returnValueNames.get(rv) ?? `CKR_0x${rv.toString(16)}`;
}
