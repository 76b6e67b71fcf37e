// A quick proof that unlocked keys work: the signing key signs a random
// message that verifies under its public key, and the KEM key decapsulates
// what was encapsulated to it. Used by `qbind-keygen verify`.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decapsulate, encapsulate, signSync, verifySignature } from '../crypto/index.ts';
import { KeystoreError } from './keystore-error.ts';
import type { UnlockedKeystore } from './unlocked-keystore.ts';

export function selfTestKeystore(keystore: UnlockedKeystore): void {
  for (const info of keystore.keys()) {
    if (info.role === 'consensus') {
      const key = keystore.signingKey('consensus');
      const msg = randomBytes(64);
      if (!verifySignature(key.suite, key.publicKey, msg, signSync(key, msg))) {
        throw new KeystoreError('KEY_FILE_TAMPERED', `${info.file}: a test signature did not verify`);
      }
    } else {
      const key = keystore.kemKey();
      const { ciphertext, sharedSecret } = encapsulate(key.publicKeyObject);
      const back = decapsulate(key.privateKey, ciphertext);
      const same = back.length === sharedSecret.length && timingSafeEqual(back, sharedSecret);
      back.fill(0);
      sharedSecret.fill(0);
      if (!same) throw new KeystoreError('KEY_FILE_TAMPERED', `${info.file}: a test decapsulation gave the wrong secret`);
    }
  }
}
