// client.toml: what qbind-signer-client (and a node wiring RemoteSignerClient
// by hand) needs to reach a remote signer: its URL and pinned identity key,
// this node's identity keystore and passphrase source, the validator, and
// optionally the consensus public key to verify signatures with.

import { readPublicKeyFile } from '../keystore/public-key-file.ts';
import type { ProfileName } from '../config/profiles.ts';
import { errorMessage } from '../errors.ts';
import { RemoteConfigError } from './remote-error.ts';
import { parseSignerUrl } from './signer-url.ts';
import { passphraseFields, profileAndChain, readTomlTable, type PassphraseFields } from './toml-fields.ts';

export interface SignerClientConfig extends PassphraseFields {
  source: string;
  signerUrl: string;
  signerPublicKey: Uint8Array;
  identityKeystorePath: string;
  profile: ProfileName;
  chainId: bigint;
  validatorId: bigint;
  consensusPublicKeyPath: string | null;
  requestTimeoutMs: number;
}

const KEYS = new Set(['signer_url', 'signer_public_key_path', 'identity_keystore_path', 'passphrase_env', 'passphrase_file', 'profile', 'chain_id', 'validator_id', 'consensus_public_key_path', 'request_timeout_ms']);

export function loadSignerClientConfig(path: string): SignerClientConfig {
  const { top, fields: f } = readTomlTable(path);
  f.unknownKeys(top, KEYS, '');
  const signerUrl = f.str(top, 'signer_url', '');
  if (signerUrl === null) f.problems.push('signer_url is required, e.g. "kemtls://127.0.0.1:9443"');
  else {
    try {
      parseSignerUrl(signerUrl);
    } catch (err) {
      f.problems.push(`signer_url: ${errorMessage(err)}`);
    }
  }
  let signerPublicKey: Uint8Array | null = null;
  const keyPath = f.path(top, 'signer_public_key_path', '');
  if (keyPath === null) f.problems.push("signer_public_key_path is required: the signer's p2p_identity.pub");
  else {
    try {
      const info = readPublicKeyFile(keyPath);
      if (info.role !== 'p2p-identity') f.problems.push(`signer_public_key_path ${keyPath} is a ${info.role} key, not the signer's p2p-identity key`);
      else signerPublicKey = info.publicKey;
    } catch (err) {
      f.problems.push(`signer_public_key_path: ${errorMessage(err)}`);
    }
  }
  const identityKeystorePath = f.path(top, 'identity_keystore_path', '');
  if (identityKeystorePath === null) f.problems.push("identity_keystore_path is required: the node's keystore holding p2p_identity.key");
  const pass = passphraseFields(top, f);
  const { profile, chainId } = profileAndChain(top, f);
  const validatorId = top.validator_id === undefined ? null : f.validatorId(top.validator_id, 'validator_id');
  if (top.validator_id === undefined) f.problems.push('validator_id is required');
  const requestTimeoutMs = f.int(top, 'request_timeout_ms', '', 10, 600_000) ?? 2000;
  const consensusPublicKeyPath = f.path(top, 'consensus_public_key_path', '');
  if (f.problems.length > 0) throw new RemoteConfigError(path, f.problems);
  return { source: path, signerUrl: signerUrl!, signerPublicKey: signerPublicKey!, identityKeystorePath: identityKeystorePath!, ...pass, profile, chainId, validatorId: validatorId!, consensusPublicKeyPath, requestTimeoutMs };
}
