// One loaded and initialized PKCS#11 library per path and process, shared by
// every provider that uses it: a second C_Initialize would fail with
// CKR_CRYPTOKI_ALREADY_INITIALIZED, and the first C_Finalize would end the
// others' sessions. The last provider to let go finalizes and unloads it.

import { realpathSync } from 'node:fs';
import { HsmError } from './hsm-error.ts';
import { INITIALIZE_ARGS, loadPkcs11Library, type Pkcs11Api } from './pkcs11-api.ts';
import { ckrOf } from './pkcs11-errors.ts';

interface Entry {
  api: Pkcs11Api;
  refs: number;
  /** False when someone else in this process had already initialized it. */
  ownsInit: boolean;
}

const byPath = new Map<string, Entry>();
const byApi = new Map<Pkcs11Api, Entry>();

export interface LibraryLease {
  readonly api: Pkcs11Api;
  /** Re-runs C_Finalize + C_Initialize (token-level recovery). Affects every lease on this library. */
  reinitialize(): void;
  release(): void;
}

function initialize(api: Pkcs11Api, what: string): boolean {
  try {
    api.C_Initialize(INITIALIZE_ARGS);
    return true;
  } catch (err) {
    if (ckrOf(err) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return false;
    throw new HsmError('HSM_LIBRARY_LOAD', `C_Initialize of PKCS#11 library ${what} failed: ${ckrOf(err) ?? (err as Error).message}`, { cause: err });
  }
}

/**
 * Loads (or shares) the library at `libraryPath`; with `api` given, uses that
 * binding instead of loading one (tests put a recording layer there).
 */
export function leaseLibrary(libraryPath: string, api?: Pkcs11Api): LibraryLease {
  let key = libraryPath;
  if (!api) {
    try {
      key = realpathSync(libraryPath);
    } catch (err) {
      throw new HsmError('HSM_LIBRARY_LOAD', `PKCS#11 library ${libraryPath} does not exist or is unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
  }
  let entry = api ? byApi.get(api) : byPath.get(key);
  if (!entry) {
    const loaded = api ?? loadPkcs11Library(libraryPath);
    let ownsInit: boolean;
    try {
      ownsInit = initialize(loaded, libraryPath);
    } catch (err) {
      if (!api) try { loaded.close(); } catch { /* not loaded */ }
      throw err;
    }
    entry = { api: loaded, refs: 0, ownsInit };
    if (api) byApi.set(api, entry);
    else byPath.set(key, entry);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    api: e.api,
    reinitialize: () => {
      try {
        e.api.C_Finalize();
      } catch {
        // not initialized any more (or the library is wedged); C_Initialize below says which
      }
      initialize(e.api, libraryPath);
      e.ownsInit = true;
    },
    release: () => {
      if (released) return;
      released = true;
      e.refs--;
      if (e.refs > 0) return;
      if (api) byApi.delete(api);
      else byPath.delete(key);
      if (e.ownsInit) {
        try {
          e.api.C_Finalize();
        } catch {
          // already finalized
        }
      }
      if (!api) {
        try {
          e.api.close();
        } catch {
          // already unloaded
        }
      }
    },
  };
}
