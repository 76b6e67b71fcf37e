// The EncryptedFsV1 signer mode (design doc §3.3): unlocks the consensus key
// of a keystore and returns a LocalKeySigner for it. The keystore's other
// keys are not decrypted.

import { environmentOf, type ProfileName } from '../config/profiles.ts';
import { chainIdFor, formatChainId } from '../preimage/chain-id.ts';
import { LocalKeySigner } from '../signer/local-key-signer.ts';
import { KeystoreError } from './keystore-error.ts';
import { openKeystore } from './open.ts';

export interface EncryptedFsSignerOptions {
  keystoreDir: string;
  passphrase: string;
  chainId: bigint;
  profile: ProfileName;
  /** When given, the keystore must belong to this validator. */
  validatorId?: bigint;
  onWarning?: (message: string) => void;
}

export async function createEncryptedFsSigner(options: EncryptedFsSignerOptions): Promise<LocalKeySigner> {
  // Fail closed: mainnet signs only the mainnet chain id, and nothing else signs it.
  const mainnet = chainIdFor('mainnet');
  if ((environmentOf(options.profile) === 'mainnet') !== (options.chainId === mainnet)) {
    throw new KeystoreError('CHAIN_ID_MISMATCH', `chain id ${formatChainId(options.chainId)} does not go with profile ${options.profile} (the mainnet chain id ${formatChainId(mainnet)} is for the mainnet profile only)`);
  }
  const keystore = await openKeystore(options.keystoreDir, {
    passphrase: options.passphrase,
    profile: options.profile,
    roles: ['consensus'],
    ...(options.validatorId !== undefined ? { validatorId: options.validatorId } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  try {
    return new LocalKeySigner({ validatorId: keystore.validatorId, chainId: options.chainId, key: keystore.signingKey('consensus') });
  } finally {
    keystore.close();
  }
}
