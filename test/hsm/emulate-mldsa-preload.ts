// Test-only preload (node --import) for child processes: makes every
// pkcs11js.PKCS11 the process loads go through RecordingApi with the ML-DSA
// emulation and the object file named by QBIND_TEST_MLDSA_STATE, so the real
// qbind-remote-signer can run an ML-DSA-44 key on SoftHSM2 2.6 (which has no
// ML-DSA). Every other PKCS#11 call still reaches the real token.

import { createRequire } from 'node:module';
import { RecordingApi } from './recording-api.ts';
import type { Pkcs11Api } from '../../src/hsm/pkcs11-api.ts';

const require = createRequire(import.meta.url);
const pkcs11js = require('pkcs11js') as { PKCS11: new () => Pkcs11Api & { load(path: string): void } };
const Real = pkcs11js.PKCS11;
const statePath = process.env.QBIND_TEST_MLDSA_STATE;
if (!statePath) throw new Error('emulate-mldsa-preload: set QBIND_TEST_MLDSA_STATE');

function EmulatedPkcs11(): object {
  const real = new Real();
  let api: RecordingApi | null = null;
  return new Proxy({}, {
    get(_target, key) {
      if (key === 'load') {
        return (path: string): void => {
          real.load(path);
          api = new RecordingApi(real, { emulateMlDsa: true, statePath });
        };
      }
      const target = (api ?? real) as unknown as Record<string | symbol, unknown>;
      const value = target[key];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

pkcs11js.PKCS11 = EmulatedPkcs11 as unknown as typeof Real;
