// Pkcs11Provider: the HSM provider of seed 003 over a PKCS#11 library —
// connect (find the token by label or slot, log in with the PIN the caller
// read from the environment), generate / import / get / list / delete keys,
// sign, public keys, mechanisms, key wrapping for backup, and close. Signing
// borrows a session from a pool and runs C_Sign on libuv's thread pool.
// A lost session or login is recovered once per call (reopen sessions, log in
// again, re-find the key and check it is still the same public key); any
// other token error is returned as an HsmError. Never logs the PIN.

import { createHash, randomBytes } from 'node:crypto';
import { normalizeLowS } from '../crypto/ecdsa-low-s.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import { importSigningKey, verifySignature } from '../crypto/signing-key.ts';
import type { SignatureSuite } from '../crypto/suites.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { HsmError } from './hsm-error.ts';
import {
  generateTemplates, importTemplates, keyPairGenMechanism, keyTypeFromAttributes, publicKeyFromObject, readUlong, signInputFor,
  signMechanism, suiteOfKeyType, defaultSignMechanism, type HsmKeyType,
} from './key-types.ts';
import { leaseLibrary, type LibraryLease } from './library.ts';
import type { Attribute, Handle, ModuleInfo, Pkcs11Api, TokenInfo } from './pkcs11-api.ts';
import {
  CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL,
  CKA_NEVER_EXTRACTABLE, CKA_PARAMETER_SET, CKA_SENSITIVE, CKA_SIGN, CKA_VALUE, CKK_EC, CKK_EC_EDWARDS, CKK_ML_DSA, CKM_AES_KEY_WRAP_PAD,
  CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKU_USER, mechanismName,
} from './pkcs11-constants.ts';
import { ckrOf, failureKind, hsmErrorFrom, type Pkcs11FailureKind } from './pkcs11-errors.ts';
import { SessionPool } from './session-pool.ts';

export interface Pkcs11ProviderOptions {
  libraryPath: string;
  /** Token label (CK_TOKEN_INFO.label, trailing blanks ignored). */
  tokenLabel?: string;
  /** CK_SLOT_ID; when no slot has this id it is taken as an index into the slot list (pkcs11-tool's "Slot N"). */
  slotId?: number;
  /** The user PIN. Held privately for re-login after a lost session; never logged. */
  pin: string;
  /** Sessions in the signing pool (default 4). */
  sessions?: number;
  /** C_Sign on libuv's thread pool (default true) or on the main thread. */
  asyncSign?: boolean;
  /**
   * A signature the token has not returned within this many ms fails with
   * HSM_OPERATION_FAILED (default 10000; 0 waits forever). The session stays
   * out of the pool until the token does answer. Applies to C_SignAsync only.
   */
  signTimeoutMs?: number;
  logger?: Logger;
  /** The PKCS#11 binding to use instead of loading `libraryPath` (tests). */
  api?: Pkcs11Api;
  /** Called when a signing call hit a lost session or stale handle and recovery was attempted. */
  onRecovery?: (kind: Exclude<Pkcs11FailureKind, 'runtime'>, recovered: boolean) => void;
}

/** What the token says about one key pair (seed 003 KeyInfo). */
export interface HsmKeyInfo {
  label: string;
  /** CKA_ID, hex. */
  id: string;
  /** Null when the token key is of a type or curve we cannot sign with. */
  keyType: HsmKeyType | null;
  /** Raw CKA_KEY_TYPE. */
  ckk: number;
  /** Raw public key in the src/crypto encoding; null when the token has no public key object for it. */
  publicKey: Buffer | null;
  fingerprint: string | null;
  sensitive: boolean;
  extractable: boolean;
  /** Generated on the token (CKA_LOCAL); false for imported keys. */
  local: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  canSign: boolean;
}

/** A key resolved for signing; the provider re-finds it after a reconnect and checks the public key. */
export interface HsmKeyRef {
  readonly label: string;
  readonly keyType: HsmKeyType;
  readonly suite: SignatureSuite;
  readonly mechanism: number;
  readonly publicKey: Buffer;
  handle: Handle | null;
  generation: number;
  /** Set when the handle was found again (after a reconnect): the next signature is verified before it is released. */
  unverified?: boolean;
}

export interface TokenStatus {
  library: ModuleInfo;
  slotId: number;
  token: TokenInfo;
  mechanisms: number[];
}

const PROBE_TAG = Buffer.from('QBIND_HSM_SELFTEST_V1', 'ascii');
const sha256 = (m: Uint8Array): Buffer => createHash('sha256').update(m).digest();
const trimLabel = (s: string): string => s.replace(/[\s\0]+$/, '');
const slotIdOf = (slot: Handle): number => Number(slot.readBigUInt64LE(0));

/**
 * A probe message for self-tests: a tag no consensus preimage starts with,
 * and fresh randomness, so a probe signature can never count as a vote.
 */
export function probeMessage(): Buffer {
  return Buffer.concat([PROBE_TAG, randomBytes(32)]);
}

/** SHA-256 of the PIN each library (per process) logged in to each slot with; never the PIN itself. */
const loggedInPins = new WeakMap<Pkcs11Api, Map<string, string>>();

export class Pkcs11Provider {
  readonly libraryPath: string;
  readonly #options: Pkcs11ProviderOptions;
  readonly #log: Logger;
  readonly #async: boolean;
  #pin: string;
  #lease: LibraryLease | null = null;
  #api: Pkcs11Api | null = null;
  #slot: Handle | null = null;
  #tokenLabel = '';
  #pool: SessionPool | null = null;
  /** Bumped whenever object handles may have changed (reconnect, stale handle, delete); cached key handles are then looked up again. */
  #generation = 0;
  /** Bumped only by a successful reconnect. */
  #connection = 0;
  #recovering: Promise<void> | null = null;
  #down: HsmError | null = null;
  #mechanisms: { generation: number; list: number[] } | null = null;
  #closed = false;

  constructor(options: Pkcs11ProviderOptions) {
    if (!options.libraryPath) throw new HsmError('HSM_CONFIG_INVALID', 'PKCS#11 library path is required');
    if (options.tokenLabel === undefined && options.slotId === undefined) throw new HsmError('HSM_CONFIG_INVALID', 'a token label or a slot id is required to find the token');
    this.libraryPath = options.libraryPath;
    this.#options = options;
    this.#pin = options.pin;
    this.#async = options.asyncSign ?? true;
    this.#log = (options.logger ?? createLogger()).child({ component: 'hsm' });
  }

  /** Label of the connected token. */
  get tokenLabel(): string {
    return this.#tokenLabel;
  }

  get connected(): boolean {
    return this.#pool !== null;
  }

  /** Loads and initializes the library, finds the token, opens the session pool and logs in. */
  async connect(): Promise<void> {
    if (this.#pool) return;
    if (this.#closed) throw new HsmError('HSM_NOT_CONNECTED', 'this HSM provider was closed; create a new one to connect again');
    const lease = leaseLibrary(this.libraryPath, this.#options.api);
    try {
      this.#lease = lease;
      this.#api = lease.api;
      this.#slot = this.#findSlot();
      const pool = new SessionPool(lease.api, this.#slot, this.#options.sessions ?? 4);
      try {
        pool.open();
      } catch (err) {
        pool.close();
        throw hsmErrorFrom(err, `opening sessions on token '${this.#tokenLabel}'`);
      }
      this.#pool = pool;
      this.#login();
    } catch (err) {
      this.#teardown();
      throw err;
    }
    this.#log.info('connected to HSM', { library: this.libraryPath, token: this.#tokenLabel, slot_id: slotIdOf(this.#slot), sessions: this.#pool.size });
  }

  /** Waits for signatures in flight, closes the sessions and lets go of the library. Idempotent. */
  async close(): Promise<void> {
    const pool = this.#pool;
    if (!pool) return;
    await pool.pauseAndDrain();
    this.#teardown();
    this.#log.info('disconnected from HSM', { token: this.#tokenLabel });
  }

  #teardown(): void {
    this.#closed = true;
    this.#pool?.close();
    this.#pool = null;
    this.#lease?.release();
    this.#lease = null;
    this.#api = null;
    this.#pin = '';
  }

  #need(): { api: Pkcs11Api; pool: SessionPool; slot: Handle } {
    if (!this.#api || !this.#pool || !this.#slot) throw new HsmError('HSM_NOT_CONNECTED', 'the HSM provider is not connected');
    return { api: this.#api, pool: this.#pool, slot: this.#slot };
  }

  #findSlot(): Handle {
    const api = this.#api!;
    const { tokenLabel, slotId } = this.#options;
    let slots: Handle[];
    try {
      slots = api.C_GetSlotList(true);
    } catch (err) {
      throw hsmErrorFrom(err, `listing the slots of ${this.libraryPath}`, 'HSM_TOKEN_NOT_FOUND');
    }
    const labels = slots.map((s) => {
      try {
        return trimLabel(api.C_GetTokenInfo(s).label);
      } catch {
        return '';
      }
    });
    let chosen: number;
    if (slotId !== undefined) {
      chosen = slots.findIndex((s) => slotIdOf(s) === slotId);
      if (chosen < 0 && slotId < slots.length) {
        chosen = slotId;
        this.#log.warn('no slot has this slot_id; using it as the slot index', { slot_id: slotId, index_slot_id: slotIdOf(slots[chosen]!) });
      }
      if (chosen < 0) throw new HsmError('HSM_TOKEN_NOT_FOUND', `no slot with id ${slotId} and a token in ${this.libraryPath} (slots: ${slots.map((s, i) => `${slotIdOf(s)} '${labels[i]}'`).join(', ') || 'none'})`);
      if (tokenLabel !== undefined && labels[chosen] !== tokenLabel) {
        throw new HsmError('HSM_TOKEN_NOT_FOUND', `slot ${slotId} holds token '${labels[chosen]}', not '${tokenLabel}'`);
      }
    } else {
      const matches = labels.flatMap((l, i) => (l === tokenLabel ? [i] : []));
      if (matches.length === 0) {
        throw new HsmError('HSM_TOKEN_NOT_FOUND', `no token labelled '${tokenLabel}' in ${this.libraryPath} (tokens present: ${labels.map((l) => `'${l}'`).join(', ') || 'none'})`);
      }
      if (matches.length > 1) throw new HsmError('HSM_TOKEN_NOT_FOUND', `${matches.length} tokens are labelled '${tokenLabel}'; set slot_id to choose one`);
      chosen = matches[0]!;
    }
    this.#tokenLabel = labels[chosen]!;
    return slots[chosen]!;
  }

  #login(): void {
    const { api, pool, slot } = this.#need();
    const pinHash = createHash('sha256').update(this.#pin).digest('hex');
    const loggedIn = loggedInPins.get(api) ?? new Map<string, string>();
    loggedInPins.set(api, loggedIn);
    const slotKey = slotIdOf(slot).toString();
    try {
      api.C_Login(pool.any(), CKU_USER, this.#pin);
      loggedIn.set(slotKey, pinHash);
    } catch (err) {
      const ckr = ckrOf(err);
      // Login state is per process and token: accept "already logged in" only for the PIN that logged in.
      if (ckr === 'CKR_USER_ALREADY_LOGGED_IN' && (loggedIn.get(slotKey) ?? pinHash) === pinHash) return;
      if (ckr === 'CKR_USER_ALREADY_LOGGED_IN') {
        throw new HsmError('HSM_LOGIN_FAILED', `login to token '${this.#tokenLabel}' failed: the PIN differs from the one this process is logged in with`, { ckr });
      }
      const why = ckr === 'CKR_PIN_INCORRECT' ? 'the PIN was rejected' : ckr === 'CKR_PIN_LOCKED' ? 'the user PIN is locked' : 'login refused';
      throw new HsmError('HSM_LOGIN_FAILED', `login to token '${this.#tokenLabel}' failed: ${why} (${ckr ?? (err as Error).message})`, { cause: err, ckr });
    }
  }

  // ---- recovery --------------------------------------------------------

  /** Reopens sessions and logs in again; if that fails, re-initializes the library and finds the token again. */
  async #recover(seen: number, reason: string): Promise<void> {
    if (this.#connection !== seen && !this.#down) return;
    this.#recovering ??= this.#doRecover(reason).finally(() => {
      this.#recovering = null;
    });
    return this.#recovering;
  }

  async #doRecover(reason: string): Promise<void> {
    const { pool } = this.#need();
    this.#log.warn('HSM session lost; reconnecting', { token: this.#tokenLabel, reason });
    await pool.pauseAndDrain();
    try {
      try {
        this.#reopen(pool);
      } catch (first) {
        this.#log.warn('reopening sessions failed; re-initializing the PKCS#11 library', { token: this.#tokenLabel, reason: ckrOf(first) ?? (first as Error).message });
        this.#lease!.reinitialize();
        this.#slot = this.#findSlot();
        pool.retarget(this.#slot);
        this.#reopen(pool);
      }
      this.#generation++;
      this.#connection++;
      this.#down = null;
      this.#log.info('HSM session recovered', { token: this.#tokenLabel, slot_id: slotIdOf(this.#slot!) });
    } catch (err) {
      this.#down = hsmErrorFrom(err, `reconnecting to token '${this.#tokenLabel}'`, 'HSM_SESSION');
      this.#log.error('HSM recovery failed', { token: this.#tokenLabel, code: this.#down.code, reason: this.#down.message });
      pool.failWaiters(this.#down);
      throw this.#down;
    } finally {
      pool.resume();
    }
  }

  #reopen(pool: SessionPool): void {
    pool.reopen();
    this.#login();
  }

  /**
   * Runs `fn` on a borrowed session. A lost session (or login) is recovered
   * and `fn` retried once; a stale object handle makes `fn` retry once with
   * handles looked up again. Anything else becomes an HsmError.
   */
  async #withSession<T>(doing: string, fn: (api: Pkcs11Api, session: Handle) => Promise<T> | T, onRetry?: (kind: Exclude<Pkcs11FailureKind, 'runtime'>, recovered: boolean) => void): Promise<T> {
    let reconnected = false;
    let relooked = false;
    for (;;) {
      if (this.#recovering) await this.#recovering.catch(() => undefined);
      if (this.#down) {
        await this.#recover(this.#connection, 'previous recovery failed');
      }
      const { api, pool } = this.#need();
      const connection = this.#connection;
      const session = await pool.acquire();
      let failure: unknown;
      try {
        return await fn(api, session);
      } catch (err) {
        failure = err;
      } finally {
        pool.release(session);
      }
      const kind = failure instanceof HsmError ? (failure.code === 'HSM_SESSION' ? 'session' : 'runtime') : failureKind(failure);
      if (kind === 'stale-handle' && !relooked) {
        relooked = true;
        this.#generation++;
        onRetry?.(kind, true);
        continue;
      }
      if (kind !== 'session' || reconnected) throw hsmErrorFrom(failure, doing);
      reconnected = true;
      const ckr = failure instanceof HsmError ? failure.ckr : ckrOf(failure);
      try {
        await this.#recover(connection, `${doing}: ${ckr}`);
        onRetry?.(kind, true);
      } catch (err) {
        onRetry?.(kind, false);
        throw new HsmError('HSM_SESSION', `${doing} failed: ${ckr}, and reconnecting failed: ${(err as Error).message}`, { cause: err, ckr });
      }
    }
  }

  // ---- object lookup ---------------------------------------------------

  #find(api: Pkcs11Api, session: Handle, template: Attribute[]): Handle[] {
    api.C_FindObjectsInit(session, template);
    try {
      const found: Handle[] = [];
      for (;;) {
        const batch = api.C_FindObjects(session, 64);
        if (batch.length === 0) return found;
        found.push(...batch);
      }
    } finally {
      api.C_FindObjectsFinal(session);
    }
  }

  /** Reads attributes; ones the object does not have are left out instead of failing the whole read. */
  #attrs(api: Pkcs11Api, session: Handle, object: Handle, types: number[]): Map<number, Buffer> {
    const out = new Map<number, Buffer>();
    try {
      for (const r of api.C_GetAttributeValue(session, object, types.map((type) => ({ type })))) out.set(r.type, r.value);
      return out;
    } catch (err) {
      const ckr = ckrOf(err);
      if (ckr !== 'CKR_ATTRIBUTE_TYPE_INVALID' && ckr !== 'CKR_ATTRIBUTE_SENSITIVE') throw err;
    }
    for (const type of types) {
      try {
        for (const r of api.C_GetAttributeValue(session, object, [{ type }])) out.set(r.type, r.value);
      } catch (err) {
        const ckr = ckrOf(err);
        if (ckr !== 'CKR_ATTRIBUTE_TYPE_INVALID' && ckr !== 'CKR_ATTRIBUTE_SENSITIVE') throw err;
      }
    }
    return out;
  }

  #privateKeys(api: Pkcs11Api, session: Handle, label?: string): Handle[] {
    const template: Attribute[] = [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }];
    if (label !== undefined) template.push({ type: CKA_LABEL, value: label });
    return this.#find(api, session, template);
  }

  /** True when the session is in a user state (CKS_RO_USER_FUNCTIONS or CKS_RW_USER_FUNCTIONS). */
  #loggedIn(api: Pkcs11Api, session: Handle): boolean {
    const state = api.C_GetSessionInfo(session).state;
    return state === 1 || state === 3;
  }

  #onePrivateKey(api: Pkcs11Api, session: Handle, label: string): Handle {
    const found = this.#privateKeys(api, session, label);
    if (found.length === 0 && !this.#loggedIn(api, session)) {
      // Private objects are invisible to a session that lost its login: that is a session failure, not a missing key.
      throw new HsmError('HSM_SESSION', `session on token '${this.#tokenLabel}' is not logged in (CKR_USER_NOT_LOGGED_IN)`, { ckr: 'CKR_USER_NOT_LOGGED_IN' });
    }
    if (found.length === 0) throw new HsmError('HSM_KEY_NOT_FOUND', `no private key labelled '${label}' on token '${this.#tokenLabel}'`);
    if (found.length > 1) throw new HsmError('HSM_KEY_AMBIGUOUS', `${found.length} private keys are labelled '${label}' on token '${this.#tokenLabel}'; labels must be unique`);
    return found[0]!;
  }

  /** `vendorKeyType`: what to take a key of unknown CKA_KEY_TYPE for (configured with a vendor mechanism). */
  #keyInfo(api: Pkcs11Api, session: Handle, handle: Handle, vendorKeyType?: HsmKeyType): HsmKeyInfo {
    const a = this.#attrs(api, session, handle, [CKA_LABEL, CKA_ID, CKA_KEY_TYPE, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_SIGN]);
    const bool = (t: number): boolean => (a.get(t)?.[0] ?? 0) !== 0;
    const label = a.get(CKA_LABEL)?.toString('utf8') ?? '';
    const id = a.get(CKA_ID) ?? Buffer.alloc(0);
    const ckkBuf = a.get(CKA_KEY_TYPE);
    const ckk = ckkBuf ? readUlong(ckkBuf) : -1;
    let ecParams: Buffer | undefined;
    let parameterSet: number | undefined;
    if (ckk === CKK_EC || ckk === CKK_EC_EDWARDS) ecParams = this.#attrs(api, session, handle, [CKA_EC_PARAMS]).get(CKA_EC_PARAMS);
    if (ckk === CKK_ML_DSA) {
      const ps = this.#attrs(api, session, handle, [CKA_PARAMETER_SET]).get(CKA_PARAMETER_SET);
      parameterSet = ps ? readUlong(ps) : undefined;
    }
    const keyType = keyTypeFromAttributes(ckk, ecParams, parameterSet) ?? (ckk !== CKK_EC && ckk !== CKK_EC_EDWARDS && ckk !== CKK_ML_DSA ? vendorKeyType ?? null : null);
    let publicKey: Buffer | null = null;
    if (keyType) {
      const template: Attribute[] = [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_LABEL, value: label }];
      if (id.length > 0) template.push({ type: CKA_ID, value: id });
      const pubs = this.#find(api, session, template);
      if (pubs.length > 1) throw new HsmError('HSM_KEY_AMBIGUOUS', `${pubs.length} public keys are labelled '${label}' with the same id on token '${this.#tokenLabel}'`);
      if (pubs.length === 1) {
        const p = this.#attrs(api, session, pubs[0]!, [CKA_VALUE, CKA_EC_POINT]);
        publicKey = publicKeyFromObject(keyType, p.get(CKA_VALUE), p.get(CKA_EC_POINT));
      }
    }
    return {
      label,
      id: id.toString('hex'),
      keyType,
      ckk,
      publicKey,
      fingerprint: publicKey ? publicKeyFingerprint(publicKey) : null,
      sensitive: bool(CKA_SENSITIVE),
      extractable: bool(CKA_EXTRACTABLE),
      local: bool(CKA_LOCAL),
      alwaysSensitive: bool(CKA_ALWAYS_SENSITIVE),
      neverExtractable: bool(CKA_NEVER_EXTRACTABLE),
      canSign: bool(CKA_SIGN),
    };
  }

  #labelInUse(api: Pkcs11Api, session: Handle, label: string): boolean {
    return this.#find(api, session, [{ type: CKA_LABEL, value: label }]).length > 0;
  }

  // ---- provider interface (seed 003 HSMProvider) -----------------------

  async getKey(label: string): Promise<HsmKeyInfo> {
    return this.#withSession(`reading key '${label}'`, (api, s) => this.#keyInfo(api, s, this.#onePrivateKey(api, s, label)));
  }

  async listKeys(): Promise<HsmKeyInfo[]> {
    return this.#withSession('listing keys', (api, s) => this.#privateKeys(api, s).map((h) => this.#keyInfo(api, s, h)));
  }

  async getPublicKey(label: string): Promise<Buffer> {
    const info = await this.getKey(label);
    if (!info.keyType) throw new HsmError('HSM_KEY_UNSUPPORTED', `key '${label}' has a key type or curve this signer does not support (CKA_KEY_TYPE 0x${info.ckk.toString(16)})`);
    if (!info.publicKey) throw new HsmError('HSM_KEY_UNSUPPORTED', `token '${this.#tokenLabel}' has no public key object for key '${label}' (same label and id)`);
    return info.publicKey;
  }

  /** Mechanisms the token offers (C_GetMechanismList), cached per connection. */
  async mechanisms(): Promise<number[]> {
    if (this.#mechanisms?.generation === this.#generation) return this.#mechanisms.list;
    const { api, slot } = this.#need();
    let list: number[];
    try {
      list = api.C_GetMechanismList(slot);
    } catch (err) {
      throw hsmErrorFrom(err, `listing the mechanisms of token '${this.#tokenLabel}'`);
    }
    this.#mechanisms = { generation: this.#generation, list };
    return list;
  }

  async #requireMechanism(mechanism: number, what: string): Promise<void> {
    if (!(await this.mechanisms()).includes(mechanism)) {
      throw new HsmError('HSM_MECHANISM_UNSUPPORTED', `token '${this.#tokenLabel}' does not offer ${mechanismName(mechanism)} (0x${mechanism.toString(16)}), needed to ${what}`);
    }
  }

  async tokenStatus(): Promise<TokenStatus> {
    const { api, slot } = this.#need();
    try {
      return { library: api.C_GetInfo(), slotId: slotIdOf(slot), token: api.C_GetTokenInfo(slot), mechanisms: await this.mechanisms() };
    } catch (err) {
      throw hsmErrorFrom(err, `reading the status of token '${this.#tokenLabel}'`);
    }
  }

  /** Generates a key pair on the token: private half sensitive, never extractable, a token object. */
  async generateKey(keyType: HsmKeyType, label: string): Promise<HsmKeyInfo> {
    await this.#requireMechanism(keyPairGenMechanism(keyType), `generate ${keyType} keys`);
    const info = await this.#withSession(`generating ${keyType} key '${label}'`, (api, s) => {
      if (this.#labelInUse(api, s, label)) throw new HsmError('HSM_KEY_EXISTS', `token '${this.#tokenLabel}' already has objects labelled '${label}'; choose another label or delete them first`);
      const t = generateTemplates(keyType, label, randomBytes(16));
      const pair = api.C_GenerateKeyPair(s, t.mechanism, t.publicTemplate, t.privateTemplate);
      return this.#keyInfo(api, s, pair.privateKey);
    });
    this.#log.info('HSM key generated', { token: this.#tokenLabel, label, key_type: keyType, fingerprint: info.fingerprint });
    return info;
  }

  /**
   * Imports a private key (its stored form: ML-DSA seed, Ed25519 seed or
   * ECDSA scalar) as a sensitive, non-extractable token key, with its public
   * key, then proves the token signs for that public key. The caller keeps
   * ownership of `privateKey` (and should zero it).
   */
  async importKey(keyType: HsmKeyType, label: string, privateKey: Uint8Array): Promise<HsmKeyInfo> {
    const suite = suiteOfKeyType(keyType);
    // A token that cannot sign with the key must not be handed its private value.
    await this.#requireMechanism(defaultSignMechanism(keyType), `sign with an imported ${keyType} key`);
    const publicKey = importSigningKey(suite, privateKey).publicKey;
    const info = await this.#withSession(`importing ${keyType} key '${label}'`, (api, s) => {
      if (this.#labelInUse(api, s, label)) throw new HsmError('HSM_KEY_EXISTS', `token '${this.#tokenLabel}' already has objects labelled '${label}'; choose another label or delete them first`);
      const t = importTemplates(keyType, label, randomBytes(16), privateKey, publicKey);
      let pub: Handle | undefined;
      try {
        pub = api.C_CreateObject(s, t.publicTemplate);
        api.C_CreateObject(s, t.privateTemplate);
      } catch (err) {
        if (pub) try { api.C_DestroyObject(s, pub); } catch { /* best effort */ }
        throw hsmErrorFrom(err, `creating ${keyType} key objects '${label}'`);
      } finally {
        t.wipe();
      }
      return this.#keyInfo(api, s, this.#onePrivateKey(api, s, label));
    });
    if (!info.publicKey?.equals(publicKey)) {
      await this.deleteKey(label).catch(() => undefined);
      throw new HsmError('HSM_KEY_MISMATCH', `imported key '${label}' reads back with a different public key; removed it`);
    }
    try {
      await this.selfTest(await this.resolveKey(label, { keyType }));
    } catch (err) {
      await this.deleteKey(label).catch(() => undefined);
      throw err;
    }
    this.#log.info('HSM key imported', { token: this.#tokenLabel, label, key_type: keyType, fingerprint: info.fingerprint });
    return info;
  }

  /** Destroys the private key labelled `label` and its public key objects. */
  async deleteKey(label: string): Promise<void> {
    await this.#withSession(`deleting key '${label}'`, (api, s) => {
      const priv = this.#onePrivateKey(api, s, label);
      const id = this.#attrs(api, s, priv, [CKA_ID]).get(CKA_ID);
      const template: Attribute[] = [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_LABEL, value: label }];
      if (id && id.length > 0) template.push({ type: CKA_ID, value: id });
      for (const h of [priv, ...this.#find(api, s, template)]) api.C_DestroyObject(s, h);
    });
    this.#generation++; // handles cached by signers must be looked up again
    this.#log.info('HSM key deleted', { token: this.#tokenLabel, label });
  }

  /** Signs `message` with the key labelled `label` (seed 003 Sign). */
  async sign(label: string, message: Uint8Array): Promise<Buffer> {
    return this.signWith(await this.resolveKey(label), message);
  }

  // ---- signing -----------------------------------------------------------

  /**
   * Finds a key for signing: checks it is a supported, sensitive signing key
   * with a public key object and that the token offers the mechanism.
   */
  async resolveKey(label: string, options: { keyType?: HsmKeyType; mechanism?: number } = {}): Promise<HsmKeyRef> {
    // A key of a vendor-defined CKA_KEY_TYPE is taken for the configured key type only when a mechanism is configured too.
    const vendorKeyType = options.mechanism !== undefined ? options.keyType : undefined;
    const { info, handle } = await this.#withSession(`finding key '${label}'`, (api, s) => {
      const h = this.#onePrivateKey(api, s, label);
      return { info: this.#keyInfo(api, s, h, vendorKeyType), handle: h };
    });
    const keyType = info.keyType;
    if (!keyType) throw new HsmError('HSM_KEY_UNSUPPORTED', `key '${label}' has a key type or curve this signer does not support (CKA_KEY_TYPE 0x${info.ckk.toString(16)})`);
    if (options.keyType && options.keyType !== keyType) throw new HsmError('HSM_KEY_MISMATCH', `key '${label}' on the token is ${keyType}, the configuration says ${options.keyType}`);
    if (!info.canSign) throw new HsmError('HSM_KEY_UNSUPPORTED', `key '${label}' is not allowed to sign (CKA_SIGN is false)`);
    if (!info.sensitive) throw new HsmError('HSM_KEY_UNSUPPORTED', `key '${label}' is not sensitive (CKA_SENSITIVE is false): its private value can be read off the token; refusing to use it`);
    if (!info.publicKey) throw new HsmError('HSM_KEY_UNSUPPORTED', `token '${this.#tokenLabel}' has no public key object for key '${label}' (same label and id); it is needed to check what the token signs`);
    if (info.extractable) this.#log.warn('HSM key is extractable: it can be wrapped off the token', { token: this.#tokenLabel, label });
    const mechanism = options.mechanism ?? defaultSignMechanism(keyType);
    await this.#requireMechanism(mechanism, `sign with ${keyType} key '${label}'`);
    return { label, keyType, suite: suiteOfKeyType(keyType), mechanism, publicKey: info.publicKey, handle, generation: this.#generation };
  }

  /** The current handle of a resolved key; after a reconnect, finds it again and checks it is the same public key. */
  #handleOf(api: Pkcs11Api, session: Handle, ref: HsmKeyRef): Handle {
    if (ref.handle && ref.generation === this.#generation) return ref.handle;
    const handle = this.#onePrivateKey(api, session, ref.label);
    const info = this.#keyInfo(api, session, handle, ref.keyType);
    if (!info.publicKey || !info.publicKey.equals(ref.publicKey)) {
      throw new HsmError('HSM_KEY_MISMATCH', `key '${ref.label}' on token '${this.#tokenLabel}' no longer has the public key ${publicKeyFingerprint(ref.publicKey)} it had (now ${info.fingerprint ?? 'none'})`);
    }
    // The public key object is found by label and id; nothing in the token ties it to this private key,
    // so the first signature made with a handle found again is checked against the public key (signWith).
    ref.unverified = ref.handle !== null;
    ref.handle = handle;
    ref.generation = this.#generation;
    return handle;
  }

  /**
   * Signs with a resolved key and returns the signature in the encoding of
   * the software suites (ML-DSA raw, Ed25519 64 bytes, ECDSA r||s low-S).
   */
  async signWith(ref: HsmKeyRef, message: Uint8Array): Promise<Buffer> {
    const input = signInputFor(ref.keyType, ref.mechanism, message, sha256);
    const size = ref.suite.signatureBytes;
    const signing = this.#withSession(
      `signing with key '${ref.label}'`,
      async (api, s) => {
        const handle = this.#handleOf(api, s, ref);
        api.C_SignInit(s, signMechanism(ref.mechanism), handle);
        // Exactly the suite's size: the token writes the whole signature or fails (a fresh buffer per call, nothing stale is returned).
        const out = Buffer.allocUnsafe(size);
        return this.#async ? await api.C_SignAsync(s, input, out) : api.C_Sign(s, input, out);
      },
      this.#options.onRecovery,
    );
    const sig = await this.#withTimeout(signing, ref);
    if (sig.length !== size) {
      throw new HsmError('HSM_OPERATION_FAILED', `token returned a ${sig.length}-byte signature for ${ref.keyType} key '${ref.label}', expected ${size} bytes`);
    }
    const out = ref.suite.family === 'ecdsa' ? normalizeLowS(ref.keyType, sig) : sig;
    if (ref.unverified) {
      if (!verifySignature(ref.suite, ref.publicKey, message, out)) {
        ref.handle = null;
        throw new HsmError('HSM_KEY_MISMATCH', `key '${ref.label}' on token '${this.#tokenLabel}' found again after a reconnect does not sign for public key ${publicKeyFingerprint(ref.publicKey)}; refusing it`);
      }
      ref.unverified = false;
    }
    return out;
  }

  /** Fails a signature the token takes too long to give; the late answer is dropped (its session returns to the pool then). */
  #withTimeout(signing: Promise<Buffer>, ref: HsmKeyRef): Promise<Buffer> {
    const ms = this.#options.signTimeoutMs ?? 10_000;
    if (ms <= 0 || !this.#async) return signing;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#log.error('HSM did not answer a signing call in time', { token: this.#tokenLabel, label: ref.label, timeout_ms: ms });
        reject(new HsmError('HSM_OPERATION_FAILED', `token '${this.#tokenLabel}' did not return a signature with key '${ref.label}' within ${ms} ms`));
      }, ms);
      signing.then(
        (sig) => {
          clearTimeout(timer);
          resolve(sig);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** Signs a probe message and verifies it under the key's public key with node:crypto. */
  async selfTest(ref: HsmKeyRef): Promise<void> {
    const probe = probeMessage();
    const sig = await this.signWith(ref, probe);
    if (!verifySignature(ref.suite, ref.publicKey, probe, sig)) {
      throw new HsmError('HSM_SELF_TEST_FAILED', `a probe signature by key '${ref.label}' (${ref.keyType}, ${mechanismName(ref.mechanism)}) does not verify under its public key ${publicKeyFingerprint(ref.publicKey)}`);
    }
  }

  // ---- backup ------------------------------------------------------------

  /**
   * Wraps the private key `label` under the token's AES key `wrappingKeyLabel`
   * (CKM_AES_KEY_WRAP_PAD). Only keys the token lets out wrapped; a
   * non-extractable key is refused with HSM_BACKUP_REFUSED.
   */
  async wrapKey(label: string, wrappingKeyLabel: string): Promise<Buffer> {
    return this.#withSession(`wrapping key '${label}'`, (api, s) => {
      const key = this.#onePrivateKey(api, s, label);
      const wrapping = this.#find(api, s, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_LABEL, value: wrappingKeyLabel }]);
      if (wrapping.length !== 1) throw new HsmError('HSM_KEY_NOT_FOUND', `${wrapping.length === 0 ? 'no' : wrapping.length} secret keys labelled '${wrappingKeyLabel}' on token '${this.#tokenLabel}' (need exactly one wrapping key)`);
      try {
        return Buffer.from(api.C_WrapKey(s, { mechanism: CKM_AES_KEY_WRAP_PAD }, wrapping[0]!, key, Buffer.alloc(16384)));
      } catch (err) {
        const ckr = ckrOf(err);
        if (ckr === 'CKR_KEY_UNEXTRACTABLE' || ckr === 'CKR_KEY_NOT_WRAPPABLE' || ckr === 'CKR_KEY_FUNCTION_NOT_PERMITTED' || ckr === 'CKR_WRAPPING_KEY_HANDLE_INVALID' || ckr === 'CKR_MECHANISM_INVALID') {
          throw new HsmError('HSM_BACKUP_REFUSED', `token refused to wrap key '${label}' (${ckr})`, { cause: err, ckr });
        }
        throw err;
      }
    });
  }
}
