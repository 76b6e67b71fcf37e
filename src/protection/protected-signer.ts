// ProtectedSigner: wraps any ValidatorSigner with double-sign protection. For
// each request it checks the preimage (checkSignRequest), asks the store for a
// durable decision under the policy (group-committed, serialized per key),
// signs through the inner signer only after the record is committed, and
// stores the signature so an identical retry gets the same bytes back.

import type { MessageKind } from '../preimage/layouts.ts';
import { checkSignRequest } from '../signer/check-request.ts';
import { SignError } from '../signer/sign-error.ts';
import { PreimageSigner, type ValidatorSigner } from '../signer/validator-signer.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { errorMessage } from '../errors.ts';
import { decisionSeconds, doubleSignRefused } from './metrics.ts';
import { describeSlot, isKeyRole, KEY_ROLES, ROLE_KINDS, slotRequestOf, type KeyRole, type ProtectionScope } from './records.ts';
import type { ProtectionStore } from './store.ts';

export interface ProtectedSignerOptions {
  chainId: bigint;
  /** Which key this signer is (default 'consensus'); protection state is kept per chain, validator and role. */
  keyRole?: string;
  logger?: Logger;
  /** Close the store with this signer (a signer that opened a store of its own). Default false: the store is shared. */
  ownsStore?: boolean;
}

export class ProtectedSigner extends PreimageSigner {
  readonly #inner: ValidatorSigner;
  readonly #store: ProtectionStore;
  readonly #scope: ProtectionScope;
  readonly #dagScope: ProtectionScope;
  readonly #log: Logger;
  readonly #ownsStore: boolean;
  /** Identical requests in flight share one decision and one signature. */
  readonly #inflight = new Map<string, Promise<Uint8Array>>();
  #closed = false;

  constructor(inner: ValidatorSigner, store: ProtectionStore, options: ProtectedSignerOptions) {
    super();
    const role = options.keyRole ?? 'consensus';
    if (!isKeyRole(role)) throw new SignError('INVALID_REQUEST', `unknown key role '${role}' (known: ${KEY_ROLES.join(', ')})`);
    this.#inner = inner;
    this.#store = store;
    this.#scope = { chainId: options.chainId, validatorId: inner.validatorId, keyRole: role };
    // Equivocation is per validator, not per key: DAG batches and acks share one set of slots whichever
    // role's key signs them (consensus today, a separate batch-signing key later, design doc §2.4).
    this.#dagScope = { ...this.#scope, keyRole: 'consensus' };
    this.#log = (options.logger ?? createLogger()).child({ component: 'protection', validator: inner.validatorId, role });
    this.#ownsStore = options.ownsStore ?? false;
  }

  get validatorId(): bigint {
    return this.#inner.validatorId;
  }

  get suiteId(): number {
    return this.#inner.suiteId;
  }

  get keyRole(): KeyRole {
    return this.#scope.keyRole;
  }

  get store(): ProtectionStore {
    return this.#store;
  }

  sign(kind: MessageKind, preimage: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new SignError('SIGNER_CLOSED', 'signer is closed'));
    const key = `${kind}:${Buffer.from(preimage.buffer, preimage.byteOffset, preimage.byteLength).toString('hex')}`;
    const pending = this.#inflight.get(key);
    if (pending) return pending.then((sig) => new Uint8Array(sig));
    const p = this.#signOnce(kind, preimage).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #signOnce(kind: MessageKind, preimageIn: Uint8Array): Promise<Uint8Array> {
    const parsed = checkSignRequest(this.#scope, kind, preimageIn);
    if (!ROLE_KINDS[this.#scope.keyRole].includes(kind)) {
      throw new SignError('INVALID_REQUEST', `the ${this.#scope.keyRole} key does not sign ${kind} messages`);
    }
    const preimage = new Uint8Array(preimageIn); // the caller may reuse its buffer
    const request = slotRequestOf(kind === 'batch' || kind === 'batch-ack' ? this.#dagScope : this.#scope, parsed, preimage);
    const slot = (): string => describeSlot(kind, request.subject, request.height);
    const started = process.hrtime.bigint();
    let decision;
    try {
      decision = await this.#store.decide(request);
    } catch (err) {
      this.#log.error('protection store failed; refusing to sign', { kind, slot: slot(), error: errorMessage(err) });
      throw new SignError('BACKEND_FAILURE', `double-sign protection store failed, not signing ${kind} at ${slot()}: ${errorMessage(err)}`, { cause: err });
    } finally {
      decisionSeconds.observe({ store: this.#store.backend }, Number(process.hrtime.bigint() - started) / 1e9);
    }
    switch (decision.verdict) {
      case 'replay':
        return new Uint8Array(decision.signature);
      case 'refuse':
        doubleSignRefused.inc({ kind });
        this.#log.warn('double sign refused', { kind, slot: slot(), reason: decision.reason });
        throw new SignError('DOUBLE_SIGN_REFUSED', `double sign refused: ${kind} at ${slot()}: ${decision.reason}`);
      case 'sign': {
        const signature = await this.#inner.sign(kind, preimage);
        this.#store.recordSignature(request, signature).catch((err: unknown) => {
          // The record is durable already; a lost signature only means an identical retry signs again.
          this.#log.warn('could not store the signature for replay', { kind, slot: slot(), error: errorMessage(err) });
        });
        return signature;
      }
    }
  }

  /** Closes the inner signer, and the store when this signer owns it (else its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#inner.close();
    } finally {
      if (this.#ownsStore) await this.#store.close();
    }
  }
}
