// The keystore passphrase a configuration names: from signer.keystore_passphrase_file
// if set, else from the variable signer.keystore_passphrase_env if it is set in
// the environment, else none (null). Read with the keystore module's rules;
// the value is only ever handed to the keystore, never logged or reported.

import type { KeystoreBackend } from './backends.ts';
import type { NodeConfig } from './node-config.ts';
import type { ProfileName } from './profiles.ts';

export function configuredPassphrase(config: NodeConfig, keystore: KeystoreBackend, env: NodeJS.ProcessEnv, profile: ProfileName): string | null {
  const s = config.signer;
  if (s.keystorePassphraseFile !== null) return keystore.readPassphrase({ file: s.keystorePassphraseFile, profile }, env);
  if (env[s.keystorePassphraseEnv] !== undefined) return keystore.readPassphrase({ env: s.keystorePassphraseEnv, profile }, env);
  return null;
}
