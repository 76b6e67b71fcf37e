// The one place node code gets its ValidatorSigner: from a NodeConfig, the
// signer of its mode (loopback-testing, encrypted-fs, remote-signer,
// hsm-pkcs11), behind double-sign protection for the local modes, wrapped in
// a FailureModeSigner with its failure mode. It
// refuses what validate_mainnet_invariants forbids for the signer (loopback
// on MainNet, log-and-continue on MainNet), a mode whose settings are missing,
// and a mode whose backend is not in this build.

import { generateSigningKey } from '../crypto/signing-key.ts';
import { SUITE_ML_DSA_44, suiteById } from '../crypto/suites.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { createLogger } from '../log/logger.ts';
import { FailureModeSigner, type FailureModeHooks } from '../signer/failure-mode.ts';
import { LocalKeySigner } from '../signer/local-key-signer.ts';
import { LoopbackSignerTransport } from '../signer/loopback-transport.ts';
import { TransportSigner } from '../signer/transport-signer.ts';
import { openProtectionStore, ProtectedSigner } from '../protection/index.ts';
import { SignerFailureMode, SignerMode, type ValidatorSigner } from '../signer/validator-signer.ts';
import type { SigningKeyPair } from '../crypto/signing-key.ts';
import { BACKEND_NAMES, builtInBackends, type SignerBackends } from './backends.ts';
import { ConfigError } from './config-error.ts';
import { checkSignerSettings, signerModePolicy, targetNetwork } from './invariants.ts';
import { chainIdOf, DEFAULT_CHECK_TIMEOUT_MS, type NodeConfig } from './node-config.ts';
import { configuredPassphrase } from './passphrase.ts';

export interface SignerFactoryDeps {
  /** Where passphrase and PIN variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Default: the backends in this build (backends.ts). */
  backends?: SignerBackends;
  /** Passed to FailureModeSigner (log line and exit hook). */
  failureHooks?: FailureModeHooks;
  /** loopback-testing without a keystore path: sign with this key instead of a fresh one. */
  loopbackKey?: SigningKeyPair;
  /**
   * Create the protection store when it does not exist: the validator's very
   * first start only (as qbind-remote-signer --init-protection-store). Default
   * false: a missing store is an error, never a silent fresh start.
   */
  createProtectionStore?: boolean;
  logger?: Logger;
}

function notAvailable(mode: SignerMode, what: string): ConfigError {
  return new ConfigError('SIGNER_NOT_AVAILABLE', `signer mode ${mode} is not available in this build: ${what} is not included`);
}

async function loopbackSigner(config: NodeConfig, validatorId: bigint, deps: SignerFactoryDeps, backends: SignerBackends, env: NodeJS.ProcessEnv, logger: Logger): Promise<ValidatorSigner> {
  const chainId = chainIdOf(config);
  let key: SigningKeyPair;
  const dir = config.signer.keystorePath;
  if (dir !== null) {
    if (!backends.keystore) throw notAvailable(SignerMode.LoopbackTesting, `${BACKEND_NAMES.keystore}, which loads --keystore-path,`);
    const profile = targetNetwork(config);
    const passphrase = configuredPassphrase(config, backends.keystore, env, profile);
    const unlocked = await backends.keystore.openConsensusKey(dir, { passphrase, profile, validatorId, onWarning: (m) => logger.warn(m) });
    key = unlocked.key;
    unlocked.close();
  } else {
    key = deps.loopbackKey ?? generateSigningKey(suiteById(SUITE_ML_DSA_44));
  }
  const local = new LocalKeySigner({ validatorId, chainId, key });
  return new TransportSigner(validatorId, local.suiteId, new LoopbackSignerTransport([local]));
}

/**
 * Double-sign protection for the local modes (the remote signer keeps its
 * own): every request is decided and recorded durably in the node's store
 * before the key signs. Without a store (no data_dir, no
 * signer.protection_store) only DevNet and TestNet Alpha may sign, with a
 * warning; elsewhere it is an error (fail closed).
 */
async function withProtection(inner: ValidatorSigner, config: NodeConfig, deps: SignerFactoryDeps, logger: Logger): Promise<ValidatorSigner> {
  const location = config.signer.protectionStore;
  const network = targetNetwork(config);
  if (location === null) {
    if (config.profile === 'devnet-v0' || config.profile === 'testnet-alpha') {
      logger.warn('no double-sign protection store (set data_dir or signer.protection_store): this signer does not refuse conflicting messages', { validator: inner.validatorId, network });
      return inner;
    }
    await inner.close().catch(() => undefined);
    throw new ConfigError('SIGNER_CONFIG_INCOMPLETE', `signer mode ${config.signer.mode} on ${config.profile} needs a double-sign protection store: set data_dir (default <data_dir>/signer-protection.sqlite) or signer.protection_store`);
  }
  try {
    const store = await openProtectionStore(location, { create: deps.createProtectionStore ?? false });
    return new ProtectedSigner(inner, store, { chainId: chainIdOf(config), logger, ownsStore: true });
  } catch (err) {
    await inner.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The node's ValidatorSigner for `config`, wrapped with its failure mode.
 * Throws ConfigError: SIGNER_MODE_FORBIDDEN, SIGNER_CONFIG_INCOMPLETE,
 * SIGNER_NOT_AVAILABLE; or the backend's own error (wrong passphrase, HSM
 * login, ...).
 */
export async function createValidatorSigner(config: NodeConfig, deps: SignerFactoryDeps = {}): Promise<FailureModeSigner> {
  const mode = config.signer.mode;
  const network = targetNetwork(config);
  if (mode === null) throw new ConfigError('SIGNER_CONFIG_INCOMPLETE', `no signer mode configured: pass --signer-mode encrypted-fs|remote-signer|hsm-pkcs11 or set signer.mode in node.toml`);
  if (signerModePolicy(config, mode) === 'forbidden') {
    throw new ConfigError('SIGNER_MODE_FORBIDDEN', `signer mode ${mode} is forbidden on ${network} (invariant 9, design doc §6.1)`);
  }
  if (network === 'mainnet' && config.signer.failureMode !== SignerFailureMode.ExitOnFailure) {
    throw new ConfigError('FAILURE_MODE_FORBIDDEN', `signer failure mode ${config.signer.failureMode} is forbidden on mainnet (invariant 10, runbook §6.3): use exit-on-failure`);
  }
  const missing = checkSignerSettings(config);
  if (missing.length > 0 || config.validatorId === null) {
    throw new ConfigError('SIGNER_CONFIG_INCOMPLETE', `signer mode ${mode} cannot start: ${missing.map((v) => `${v.setting} ${v.found} (${v.fix})`).join('; ')}`);
  }
  const validatorId = config.validatorId;
  const env = deps.env ?? process.env;
  const backends = deps.backends ?? (await builtInBackends());
  const logger = deps.logger ?? createLogger({ base: { component: 'signer-factory' } });
  const chainId = chainIdOf(config);

  let inner: ValidatorSigner;
  switch (mode) {
    case SignerMode.LoopbackTesting:
      inner = await loopbackSigner(config, validatorId, deps, backends, env, logger);
      logger.warn('loopback-testing signer: the key is in this process; for DevNet and tests only', { validator: validatorId, network });
      break;
    case SignerMode.EncryptedFsV1: {
      if (!backends.keystore) throw notAvailable(mode, BACKEND_NAMES.keystore);
      const s = config.signer;
      const passphrase = s.keystorePassphraseFile !== null
        ? backends.keystore.readPassphrase({ file: s.keystorePassphraseFile, profile: network }, env)
        : backends.keystore.readPassphrase({ env: s.keystorePassphraseEnv, profile: network }, env);
      inner = await backends.keystore.createSigner({ keystoreDir: s.keystorePath!, passphrase, chainId, profile: network, validatorId, onWarning: (m) => logger.warn(m) });
      break;
    }
    case SignerMode.RemoteSigner: {
      const createRemote = backends.remote?.createSigner;
      if (!createRemote) throw notAvailable(mode, BACKEND_NAMES.remote);
      if (!backends.keystore) throw notAvailable(mode, `${BACKEND_NAMES.keystore}, which holds this node's identity key,`);
      const s = config.signer;
      const identity = await backends.keystore.openIdentityKey(s.identityKeystorePath!, { passphrase: configuredPassphrase(config, backends.keystore, env, network), profile: network, validatorId, onWarning: (m) => logger.warn(m) });
      const signerPublicKey = backends.keystore.readIdentityPublicKey(s.remoteSignerPublicKeyPath!);
      inner = await createRemote({ url: s.remoteSignerUrl!, signerPublicKey, identity, timeoutMs: DEFAULT_CHECK_TIMEOUT_MS, validatorId, chainId });
      break;
    }
    case SignerMode.HsmPkcs11:
      if (!backends.hsm) throw notAvailable(mode, BACKEND_NAMES.hsm);
      inner = await backends.hsm.createSigner({ configPath: config.signer.hsmConfigPath!, validatorId, chainId, env });
      break;
  }
  if (inner.validatorId !== validatorId) {
    await inner.close().catch((err: unknown) => logger.error('closing a mismatched signer failed', { error: errorMessage(err) }));
    throw new ConfigError('SIGNER_CONFIG_INCOMPLETE', `the ${mode} signer signs for validator ${inner.validatorId}, but validator_id is ${validatorId}`);
  }
  const protectedSigner = mode === SignerMode.RemoteSigner ? inner : await withProtection(inner, config, deps, logger);
  logger.info('validator signer ready', { mode, failure_mode: config.signer.failureMode, validator: validatorId, network, protection: config.signer.protectionStore === null ? 'none' : 'on' });
  return new FailureModeSigner(protectedSigner, config.signer.failureMode, deps.failureHooks);
}
