// First-run setup for `npm start`: a complete DevNet remote signer deployment
// in one local folder (default .qbind/devnet): validator 42's encrypted
// consensus keystore, the signer's and the node's ML-KEM-768 identity
// keystores, a random passphrase file (0600), remote_signer.toml and the
// client.toml that qbind-signer-client reads. Existing files are kept.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../fsutil/atomic-write.ts';
import { generateKeystore, readPassphrase } from '../keystore/index.ts';

export const DEVNET_VALIDATOR_ID = 42n;

export interface DevnetSetup {
  dir: string;
  signerConfigPath: string;
  clientConfigPath: string;
  /** True when this call created it (the protection store is new too). */
  created: boolean;
}

export async function ensureDevnetSetup(dirIn: string, listenAddr = '127.0.0.1:9443'): Promise<DevnetSetup> {
  const dir = resolve(dirIn);
  const signerConfigPath = join(dir, 'remote_signer.toml');
  const clientConfigPath = join(dir, 'client.toml');
  if (existsSync(signerConfigPath) && existsSync(clientConfigPath)) return { dir, signerConfigPath, clientConfigPath, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const passphrasePath = join(dir, 'passphrase');
  if (!existsSync(passphrasePath)) writeFileAtomic(passphrasePath, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  const passphrase = readPassphrase({ file: passphrasePath, profile: 'devnet-v0' });
  const quiet = { profile: 'devnet-v0' as const, passphrase, onWarning: () => undefined };
  const make = async (sub: string, validatorId: bigint, role: 'consensus' | 'p2p-identity'): Promise<void> => {
    const keyDir = join(dir, sub);
    if (!existsSync(join(keyDir, role === 'consensus' ? 'consensus.key' : 'p2p_identity.key'))) {
      await generateKeystore({ ...quiet, dir: keyDir, validatorId, roles: [role] });
    }
  };
  await make('signer/keystore', DEVNET_VALIDATOR_ID, 'consensus');
  await make('signer/identity', 0n, 'p2p-identity');
  await make('node/identity', DEVNET_VALIDATOR_ID, 'p2p-identity');
  writeFileAtomic(
    signerConfigPath,
    `# qbind-remote-signer DevNet config written by 'npm start' (see docs/remote-signer.md).
listen_addr = "${listenAddr}"
profile = "devnet-v0"
validator_id = ${DEVNET_VALIDATOR_ID}
backend_mode = "encrypted-fs"
keystore_path = "signer/keystore"
passphrase_file = "passphrase"
identity_keystore_path = "signer/identity"
rate_limit_rps = 100
protection_store = "signer/protection.sqlite"
audit_log_path = "signer/audit.log"

[[authorized_clients]]
name = "devnet-node-42"
public_key_path = "node/identity/p2p_identity.pub"
validators = [${DEVNET_VALIDATOR_ID}]
`,
    { mode: 0o600, overwrite: true },
  );
  writeFileAtomic(
    clientConfigPath,
    `# qbind-signer-client DevNet config written by 'npm start'.
signer_url = "kemtls://${listenAddr.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}"
signer_public_key_path = "signer/identity/p2p_identity.pub"
identity_keystore_path = "node/identity"
passphrase_file = "passphrase"
profile = "devnet-v0"
validator_id = ${DEVNET_VALIDATOR_ID}
consensus_public_key_path = "signer/keystore/consensus.pub"
`,
    { mode: 0o600, overwrite: true },
  );
  return { dir, signerConfigPath, clientConfigPath, created: true };
}
