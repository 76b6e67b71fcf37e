// RemoteSignerClient: the node's ValidatorSigner for signer mode remote-signer
// (runbook §3.5 --remote-signer-url kemtls://host:port, design doc §6.4
// host:port). Requests go over KEMTLS, authenticated by the node's
// p2p-identity key and pinned to the signer's identity key; failures follow
// the configured SignerFailureMode (runbook §6.3).

import type { KemKeyPair } from '../crypto/kem.ts';
import { SUITE_ML_DSA_44 } from '../crypto/suites.ts';
import { connect } from '../kemtls/index.ts';
import type { Logger } from '../log/logger.ts';
import { FailureModeSigner, type FailureModeHooks } from '../signer/failure-mode.ts';
import { TransportSigner } from '../signer/transport-signer.ts';
import { SignerFailureMode, type ValidatorSigner } from '../signer/validator-signer.ts';
import { RemoteTransport, type MessageChannel } from './remote-transport.ts';
import { parseSignerUrl } from './signer-url.ts';

export interface RemoteSignerClientOptions {
  /** kemtls://host:port or host:port */
  url: string;
  validatorId: bigint;
  /** Default 100 (ML-DSA-44). */
  suiteId?: number;
  /** This node's p2p-identity key (ML-KEM-768). */
  identity: KemKeyPair;
  /** The signer's identity public key (raw ML-KEM-768), pinned. */
  signerPublicKey: Uint8Array;
  requestTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  /** Default exit-on-failure (fail closed). */
  failureMode?: SignerFailureMode;
  failureHooks?: FailureModeHooks;
  logger?: Logger;
}

/** Opens one KEMTLS connection and presents it as a MessageChannel. */
function kemtlsChannel(options: RemoteSignerClientOptions): () => Promise<MessageChannel> {
  const { host, port } = parseSignerUrl(options.url);
  return async () => {
    const conn = await connect({
      host,
      port,
      clientKey: options.identity,
      serverPublicKey: options.signerPublicKey,
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    return {
      send: (m) => conn.send(m),
      onMessage: (h) => void conn.on('message', h),
      onClose: (h) => void conn.on('close', (reason) => h(reason ? reason.message : 'closed by the signer')),
      close: () => conn.close(),
    };
  };
}

/** The remote signer as a ValidatorSigner without a failure mode: errors are returned as they are (the node's signer factory applies its own). */
export function createRemoteTransportSigner(options: Omit<RemoteSignerClientOptions, 'failureMode' | 'failureHooks'>): ValidatorSigner {
  const transport = new RemoteTransport({
    connect: kemtlsChannel(options),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  return new TransportSigner(options.validatorId, options.suiteId ?? SUITE_ML_DSA_44, transport);
}

/** The remote signer with its failure mode (default exit-on-failure, runbook §6.3). */
export function createRemoteSignerClient(options: RemoteSignerClientOptions): ValidatorSigner {
  const inner = createRemoteTransportSigner(options);
  const hooks: FailureModeHooks = { ...options.failureHooks };
  if (!hooks.log && options.logger) {
    const log = options.logger;
    hooks.log = (line) => log.error(line);
  }
  return new FailureModeSigner(inner, options.failureMode ?? SignerFailureMode.ExitOnFailure, hooks);
}
