// The slice of the PKCS#11 C API this package calls, one signature per
// function, and the loader that binds it to a library through pkcs11js.
// Everything above talks to this interface, so a test can put a recording
// layer between us and the real token (test/hsm/recording-api.ts).

import pkcs11js from 'pkcs11js';
import type { Attribute, AttributeResult, KeyPair, Mechanism, MechanismInfo, ModuleInfo, SessionInfo, TokenInfo } from 'pkcs11js';
import { HsmError } from './hsm-error.ts';
import { CKF_OS_LOCKING_OK } from './pkcs11-constants.ts';

export type { Attribute, AttributeResult, KeyPair, Mechanism, MechanismInfo, ModuleInfo, SessionInfo, TokenInfo };
export type Handle = Buffer;

export interface Pkcs11Api {
  C_Initialize(options?: { flags?: number }): void;
  C_Finalize(): void;
  C_GetInfo(): ModuleInfo;
  C_GetSlotList(tokenPresent: boolean): Handle[];
  C_GetTokenInfo(slot: Handle): TokenInfo;
  C_GetMechanismList(slot: Handle): number[];
  C_GetMechanismInfo(slot: Handle, mechanism: number): MechanismInfo;
  C_OpenSession(slot: Handle, flags: number): Handle;
  C_CloseSession(session: Handle): void;
  C_CloseAllSessions(slot: Handle): void;
  C_GetSessionInfo(session: Handle): SessionInfo;
  C_Login(session: Handle, userType: number, pin: string): void;
  C_Logout(session: Handle): void;
  C_CreateObject(session: Handle, template: Attribute[]): Handle;
  C_DestroyObject(session: Handle, object: Handle): void;
  C_FindObjectsInit(session: Handle, template: Attribute[]): void;
  C_FindObjects(session: Handle, maxObjectCount: number): Handle[];
  C_FindObjectsFinal(session: Handle): void;
  C_GetAttributeValue(session: Handle, object: Handle, template: Attribute[]): AttributeResult[];
  C_GenerateKeyPair(session: Handle, mechanism: Mechanism, publicTemplate: Attribute[], privateTemplate: Attribute[]): KeyPair;
  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void;
  C_Sign(session: Handle, data: Buffer, out: Buffer): Buffer;
  /** C_Sign on libuv's thread pool; the event loop keeps running meanwhile. */
  C_SignAsync(session: Handle, data: Buffer, out: Buffer): Promise<Buffer>;
  C_WrapKey(session: Handle, mechanism: Mechanism, wrappingKey: Handle, key: Handle, out: Buffer): Buffer;
  /** Unloads the library (after C_Finalize). */
  close(): void;
}

/**
 * Loads a PKCS#11 library (dlopen). C_Initialize is the caller's; it must
 * pass CKF_OS_LOCKING_OK because signing runs on several threads.
 */
export function loadPkcs11Library(libraryPath: string): Pkcs11Api {
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(libraryPath);
  } catch (err) {
    throw new HsmError('HSM_LIBRARY_LOAD', `cannot load PKCS#11 library ${libraryPath}: ${(err as Error).message}`, { cause: err });
  }
  return lib;
}

/** The C_Initialize arguments every caller uses: the library may lock with OS primitives. */
export const INITIALIZE_ARGS = { flags: CKF_OS_LOCKING_OK } as const;
