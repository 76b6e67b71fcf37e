// The daemon's request pipeline, independent of sockets: for each decoded
// request it checks the client may sign for the validator, the validator is
// served here and under its rate limit, then hands it to that validator's
// (protected) signer, which checks suite, kind, chain id and preimage and
// applies double-sign protection before signing. Every decision is counted,
// timed and written to the audit log; errors carry no key material.

import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Logger } from '../log/logger.ts';
import { serveSignRequest } from '../signer/loopback-transport.ts';
import { SignError } from '../signer/sign-error.ts';
import type { RemoteSignResponse } from '../signer/remote-protocol.ts';
import type { ValidatorSigner } from '../signer/validator-signer.ts';
import { RateLimiter } from './rate-limiter.ts';
import { signDurationSeconds, signFailuresTotal, signRequestsTotal } from './signer-metrics.ts';
import type { WireSignRequest, WireSignResponse } from './wire.ts';

export interface ClientPolicy {
  /** Operator-given name from the config. */
  readonly name: string;
  /** Fingerprint of the client's ML-KEM-768 static public key. */
  readonly fingerprint: string;
  readonly validators: ReadonlySet<bigint>;
}

export interface SigningServiceOptions {
  /** One signer per validator served, already wrapped in double-sign protection. */
  signers: ReadonlyMap<bigint, ValidatorSigner>;
  /** Per validator; 0 disables. */
  rateLimitRps: number;
  audit?: AuditLog | null;
  logger: Logger;
}

function refuse(code: SignError['code'], message: string): RemoteSignResponse {
  return { signature: null, error: { code, message } };
}

export class SigningService {
  readonly #signers: ReadonlyMap<bigint, ValidatorSigner>;
  readonly #limiters = new Map<bigint, RateLimiter>();
  readonly #audit: AuditLog | null;
  readonly #log: Logger;

  constructor(options: SigningServiceOptions) {
    this.#signers = options.signers;
    for (const id of options.signers.keys()) this.#limiters.set(id, new RateLimiter(options.rateLimitRps));
    this.#audit = options.audit ?? null;
    this.#log = options.logger;
  }

  async handle(client: ClientPolicy, request: WireSignRequest): Promise<WireSignResponse> {
    const started = performance.now();
    signRequestsTotal.inc({ kind: request.kind });
    let response: RemoteSignResponse;
    const signer = this.#signers.get(request.validatorId);
    if (!client.validators.has(request.validatorId)) {
      response = refuse('UNAUTHORIZED', `client '${client.name}' is not allowed to sign for validator ${request.validatorId}`);
    } else if (!signer) {
      response = refuse('UNAUTHORIZED', `validator ${request.validatorId} is not served by this signer`);
    } else if (!this.#limiters.get(request.validatorId)!.tryTake()) {
      response = refuse('RATE_LIMITED', `rate limit for validator ${request.validatorId} exceeded; retry later`);
    } else {
      response = await serveSignRequest(signer, request);
    }
    const seconds = (performance.now() - started) / 1000;
    signDurationSeconds.observe({ kind: request.kind }, seconds);
    if (response.error) signFailuresTotal.inc({ reason: response.error.code.toLowerCase() });
    this.#record(client, request, response, seconds);
    return { requestId: request.requestId, response };
  }

  #record(client: ClientPolicy, request: WireSignRequest, response: RemoteSignResponse, seconds: number): void {
    const decision = response.error ? `refused:${response.error.code}` : 'signed';
    const fields = {
      validator: request.validatorId.toString(),
      kind: request.kind,
      view: request.view === null ? null : request.view.toString(),
      preimage_sha3_256: createHash('sha3-256').update(request.preimage).digest('hex'),
      client: client.name,
      client_fingerprint: client.fingerprint,
      decision,
      latency_ms: Math.round(seconds * 1e6) / 1e3,
    };
    try {
      this.#audit?.append('sign', fields);
    } catch (err) {
      // The audit log is evidence, not the safety mechanism (the protection store is); say it loudly.
      this.#log.error('audit log write failed', { error: err instanceof Error ? err.message : String(err) });
    }
    if (response.error && response.error.code !== 'RATE_LIMITED') {
      this.#log.warn('sign request refused', { ...fields, reason: response.error.message });
    }
  }
}
