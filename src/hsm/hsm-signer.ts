// HsmPkcs11Signer: a ValidatorSigner whose key lives in an HSM (design doc
// §3.5). It checks each request like every backend (checkSignRequest), signs
// through the Pkcs11Provider and returns signatures in the software suites'
// encoding. Fail closed: any HSM error is a BACKEND_FAILURE SignError (the
// failure mode wrapper then stops the validator), counted in
// qbind_hsm_sign_error_total{kind}. createHsmSigner builds one from hsm.toml
// with startup checks: token, login, key, expected public key, probe signature.

import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import type { MessageKind } from '../preimage/layouts.ts';
import { checkSignRequest } from '../signer/check-request.ts';
import { SignError } from '../signer/sign-error.ts';
import { PreimageSigner } from '../signer/validator-signer.ts';
import { loadHsmConfig, readPin, signingKeyOf, type HsmConfig } from './config.ts';
import { HsmError } from './hsm-error.ts';
import { hsmSignErrorTotal, hsmSignLastLatencyMs, hsmSignSuccessTotal, hsmStartupOk, initHsmMetrics, type HsmSignErrorKind } from './hsm-metrics.ts';
import type { HsmKeyType } from './key-types.ts';
import type { Pkcs11Api } from './pkcs11-api.ts';
import { mechanismName } from './pkcs11-constants.ts';
import { Pkcs11Provider, type HsmKeyRef } from './provider.ts';

export interface HsmPkcs11SignerOptions {
  validatorId: bigint;
  chainId: bigint;
  provider: Pkcs11Provider;
  key: HsmKeyRef;
  /** Close the provider with the signer (default true). */
  ownsProvider?: boolean;
  logger?: Logger;
}

function errorKind(err: unknown): HsmSignErrorKind {
  if (!(err instanceof HsmError)) return 'runtime';
  if (err.code === 'HSM_SESSION') return 'session';
  if (err.code === 'HSM_NOT_CONNECTED') return 'closed';
  if (err.code === 'HSM_KEY_NOT_FOUND' || err.code === 'HSM_KEY_MISMATCH' || err.code === 'HSM_KEY_AMBIGUOUS' || err.code === 'HSM_KEY_UNSUPPORTED') return 'key';
  return 'runtime';
}

export class HsmPkcs11Signer extends PreimageSigner {
  readonly validatorId: bigint;
  readonly chainId: bigint;
  readonly suiteId: number;
  readonly #provider: Pkcs11Provider;
  readonly #key: HsmKeyRef;
  readonly #ownsProvider: boolean;
  readonly #log: Logger;
  #closed = false;

  constructor(options: HsmPkcs11SignerOptions) {
    super();
    this.validatorId = options.validatorId;
    this.chainId = options.chainId;
    this.suiteId = options.key.suite.id;
    this.#provider = options.provider;
    this.#key = options.key;
    this.#ownsProvider = options.ownsProvider ?? true;
    this.#log = (options.logger ?? createLogger()).child({ component: 'hsm-signer', validator: options.validatorId, key_label: options.key.label });
    initHsmMetrics();
  }

  /** The raw public key of the HSM key (checked at startup and after every reconnect). */
  get publicKey(): Uint8Array {
    return this.#key.publicKey;
  }

  get keyLabel(): string {
    return this.#key.label;
  }

  get keyType(): HsmKeyType {
    return this.#key.keyType;
  }

  async sign(kind: MessageKind, preimage: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new SignError('SIGNER_CLOSED', 'signer is closed');
    checkSignRequest(this, kind, preimage);
    const started = performance.now();
    try {
      const sig = await this.#provider.signWith(this.#key, preimage);
      hsmSignLastLatencyMs.set(performance.now() - started);
      hsmSignSuccessTotal.inc();
      return sig;
    } catch (err) {
      hsmSignLastLatencyMs.set(performance.now() - started);
      const errKind = errorKind(err);
      hsmSignErrorTotal.inc({ kind: errKind });
      const code = err instanceof HsmError ? err.code : 'HSM_OPERATION_FAILED';
      const reason = err instanceof Error ? err.message : String(err);
      this.#log.error('HSM signing failed', { kind, error_kind: errKind, code, reason });
      throw new SignError('BACKEND_FAILURE', `HSM signing failed (${kind}, validator ${this.validatorId}, key '${this.#key.label}'): ${code}: ${reason}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsProvider) await this.#provider.close();
  }
}

export interface ConnectHsmOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Overrides the config's session pool size. */
  sessions?: number;
  /** Overrides the config's sign_timeout_ms. */
  signTimeoutMs?: number;
  asyncSign?: boolean;
  /** PKCS#11 binding to use instead of loading the library (tests). */
  api?: Pkcs11Api;
  onRecovery?: ConstructorParameters<typeof Pkcs11Provider>[0]['onRecovery'];
}

/** A connected, logged-in provider for the token an hsm.toml names (PIN from its environment variable). */
export async function connectHsm(config: HsmConfig, options: ConnectHsmOptions = {}): Promise<Pkcs11Provider> {
  const pin = readPin(config, options.env);
  const provider = new Pkcs11Provider({
    libraryPath: config.libraryPath,
    tokenLabel: config.tokenLabel,
    slotId: config.slotId,
    pin,
    sessions: options.sessions ?? config.sessions,
    signTimeoutMs: options.signTimeoutMs ?? config.signTimeoutMs,
    asyncSign: options.asyncSign,
    logger: options.logger,
    api: options.api,
    onRecovery: options.onRecovery,
  });
  await provider.connect();
  return provider;
}

export interface CreateHsmSignerOptions extends ConnectHsmOptions {
  /** Path of hsm.toml (flat §3.5 form or sectioned §4.5 form). */
  configPath: string;
  validatorId: bigint;
  chainId: bigint;
  /** Sign with this key label instead of the config's key_label / [keys.consensus]. */
  keyLabel?: string;
  /** Refuse to start unless the token key has exactly this public key. */
  expectedPublicKey?: Uint8Array;
  /** Refuse to start unless the key is of this suite (e.g. 100 for QBIND consensus). */
  expectedSuiteId?: number;
}

/**
 * Builds the HSM signer the node or the remote signer daemon runs
 * (signer mode / backend_mode "hsm-pkcs11", hsm_config_path). Startup checks,
 * each failing with an HsmError and qbind_hsm_startup_ok = 0: config, PIN
 * variable, library, token, login, key (type, sensitive, signing allowed,
 * public key object), mechanism offered, expected public key and suite, and a
 * probe signature verified with node:crypto.
 */
export async function createHsmSigner(options: CreateHsmSignerOptions): Promise<HsmPkcs11Signer> {
  const log = (options.logger ?? createLogger()).child({ component: 'hsm-signer', validator: options.validatorId });
  hsmStartupOk.set(0);
  initHsmMetrics();
  let provider: Pkcs11Provider | undefined;
  try {
    const config = loadHsmConfig(options.configPath);
    const keyConfig = signingKeyOf(config, options.keyLabel);
    // A signing call that hit a lost session or a stale handle and recovered is still an HSM error worth counting;
    // one that did not recover is counted when the signer sees its error.
    const onRecovery: ConnectHsmOptions['onRecovery'] = (kind, recovered) => {
      if (recovered) hsmSignErrorTotal.inc({ kind: kind === 'session' ? 'session' : 'key' });
      options.onRecovery?.(kind, recovered);
    };
    provider = await connectHsm(config, { ...options, onRecovery });
    const keyType = keyConfig.keyType === 'ml-kem-768' ? undefined : keyConfig.keyType;
    const key = await provider.resolveKey(keyConfig.label, { keyType, mechanism: keyConfig.mechanism });
    if (options.expectedPublicKey && !key.publicKey.equals(options.expectedPublicKey)) {
      throw new HsmError('HSM_KEY_MISMATCH', `key '${key.label}' on token '${provider.tokenLabel}' has public key ${publicKeyFingerprint(key.publicKey)}, expected ${publicKeyFingerprint(options.expectedPublicKey)}`);
    }
    if (options.expectedSuiteId !== undefined && key.suite.id !== options.expectedSuiteId) {
      throw new HsmError('HSM_KEY_MISMATCH', `key '${key.label}' is ${key.keyType} (suite ${key.suite.id}), expected suite ${options.expectedSuiteId}`);
    }
    await provider.selfTest(key);
    const signer = new HsmPkcs11Signer({ validatorId: options.validatorId, chainId: options.chainId, provider, key, logger: options.logger });
    hsmStartupOk.set(1);
    log.info('HSM signer ready', { token: provider.tokenLabel, key_label: key.label, key_type: key.keyType, mechanism: mechanismName(key.mechanism), fingerprint: publicKeyFingerprint(key.publicKey) });
    return signer;
  } catch (err) {
    hsmStartupOk.set(0);
    await provider?.close().catch(() => undefined);
    const e = err instanceof HsmError ? err : new HsmError('HSM_OPERATION_FAILED', `HSM signer startup failed: ${(err as Error).message}`, { cause: err });
    log.error('HSM signer startup failed', { code: e.code, reason: e.message });
    throw e;
  }
}
