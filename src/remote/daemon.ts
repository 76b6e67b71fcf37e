// qbind-remote-signer's daemon: loads the validators' keys (EncryptedFsV1
// keystores, unlocked on all cores, or an HSM), wraps each in double-sign
// protection, and serves RemoteSignRequests over KEMTLS. The same TCP port
// answers plain HTTP GET /metrics and /health (runbook §4.1 step 5): the first
// byte tells them apart (KEMTLS starts with 0x89, HTTP with a letter).

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { AuditLog } from '../audit/audit-log.ts';
import type { KemKeyPair } from '../crypto/kem.ts';
import { SUITE_ML_DSA_44 } from '../crypto/suites.ts';
import { environmentOf } from '../config/profiles.ts';
import { errorMessage, QbindError } from '../errors.ts';
import { createKemtlsServer, type KemtlsConnection, type KemtlsServer } from '../kemtls/index.ts';
import { openIdentityKey, unlockMany } from '../keystore/index.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import type { HsmPkcs11Signer } from '../hsm/hsm-signer.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import { metricsRegistry } from '../metrics/registry.ts';
import { openProtectionStore, ProtectedSigner, type ProtectionStore } from '../protection/index.ts';
import { LocalKeySigner } from '../signer/local-key-signer.ts';
import type { ValidatorSigner } from '../signer/validator-signer.ts';
import type { RemoteSignerConfig } from './daemon-config.ts';
import { passphraseOf } from './toml-fields.ts';
import { connectedClients, signerReady, validatorsServed } from './signer-metrics.ts';
import { SigningService, type ClientPolicy } from './signing-service.ts';
import { decodeSignRequest, encodeSignResponse, peekRequestId } from './wire.ts';

/** Requests one connection may have in flight; more are refused with RATE_LIMITED, never queued. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 1024;
const KEMTLS_FIRST_BYTE = 0x89;

export interface StartRemoteSignerOptions {
  logger?: Logger;
  /** Create the protection store if it does not exist (first start only). */
  createProtectionStore?: boolean;
}

export interface RunningRemoteSigner {
  readonly address: AddressInfo;
  /** The signer's ML-KEM-768 identity public key, which clients pin. */
  readonly identityPublicKey: Uint8Array;
  readonly validatorIds: readonly bigint[];
  /** Ready: keys loaded and the protection store writable. */
  checkReady(): Promise<{ ready: boolean; reason: string }>;
  close(): Promise<void>;
}

/**
 * Refuses two validators signing with one key: protection state is kept per
 * validator, so a shared key could sign the same view once for each of them.
 */
async function refuseSharedKeys(signers: (ValidatorSigner & { readonly publicKey: Uint8Array })[]): Promise<ValidatorSigner[]> {
  const seen = new Map<string, bigint>();
  for (const s of signers) {
    const fp = publicKeyFingerprint(s.publicKey);
    const other = seen.get(fp);
    if (other !== undefined) {
      for (const x of signers) await x.close().catch(() => undefined);
      throw new QbindError('SHARED_VALIDATOR_KEY', `validators ${other} and ${s.validatorId} are configured with the same key (${fp}); each validator needs its own key`);
    }
    seen.set(fp, s.validatorId);
  }
  return signers;
}

/** Loads every validator's signing backend, unprotected. */
async function loadBackends(config: RemoteSignerConfig, passphrase: string | null, log: Logger): Promise<ValidatorSigner[]> {
  if (config.backendMode === 'encrypted-fs') {
    const keystores = await unlockMany(
      config.validators.map((v) => ({ dir: v.keystorePath!, roles: ['consensus' as const], validatorId: v.validatorId })),
      passphrase,
      { profile: config.profile, onWarning: (dir, m) => log.warn(m, { keystore: dir }) },
    );
    return refuseSharedKeys(keystores.map((ks) => {
      const signer = new LocalKeySigner({ validatorId: ks.validatorId, chainId: config.chainId, key: ks.signingKey('consensus') });
      ks.close();
      return signer;
    }));
  }
  const { createHsmSigner } = await import('../hsm/hsm-signer.ts');
  // QBIND consensus keys are ML-DSA-44 (suite 100). DevNet may serve other token key
  // types (SoftHSM2 has no ML-DSA) for testing the HSM path; every other profile refuses them at start.
  const suite = environmentOf(config.profile) === 'devnet' ? {} : { expectedSuiteId: SUITE_ML_DSA_44 };
  const out: HsmPkcs11Signer[] = [];
  try {
    for (const v of config.validators) {
      out.push(await createHsmSigner({ configPath: config.hsmConfigPath!, validatorId: v.validatorId, chainId: config.chainId, ...suite, ...(v.keyLabel ? { keyLabel: v.keyLabel } : {}), logger: log }));
    }
  } catch (err) {
    for (const s of out) await s.close().catch(() => undefined);
    throw err;
  }
  return refuseSharedKeys(out);
}

function clientPolicies(config: RemoteSignerConfig): Map<string, ClientPolicy> {
  return new Map(config.clients.map((c) => [c.fingerprint, { name: c.name, fingerprint: c.fingerprint, validators: c.validators }]));
}

function serveConnection(conn: KemtlsConnection, policy: ClientPolicy, service: SigningService, log: Logger): void {
  connectedClients.inc();
  let inFlight = 0;
  const clog = log.child({ client: policy.name, client_fingerprint: policy.fingerprint });
  clog.info('client connected');
  const reply = (bytes: Uint8Array): void => {
    try {
      conn.send(bytes);
    } catch {
      // The connection closed while we were signing; the decision is recorded, the client may retry.
    }
  };
  conn.on('message', (message) => {
    let request;
    try {
      request = decodeSignRequest(message);
    } catch (err) {
      const requestId = peekRequestId(message);
      clog.warn('malformed request', { error: errorMessage(err) });
      if (requestId === null) return conn.close();
      return reply(encodeSignResponse({ requestId, response: { signature: null, error: { code: 'INVALID_REQUEST', message: `malformed request: ${errorMessage(err)}` } } }));
    }
    if (inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) {
      return reply(encodeSignResponse({ requestId: request.requestId, response: { signature: null, error: { code: 'RATE_LIMITED', message: `more than ${MAX_IN_FLIGHT_PER_CONNECTION} requests in flight on this connection` } } }));
    }
    inFlight++;
    service.handle(policy, request).then(
      (response) => reply(encodeSignResponse(response)),
      (err: unknown) => {
        clog.error('request handling failed', { error: errorMessage(err) });
        reply(encodeSignResponse({ requestId: request.requestId, response: { signature: null, error: { code: 'BACKEND_FAILURE', message: 'internal signer error' } } }));
      },
    ).finally(() => inFlight--);
  });
  conn.on('close', (reason) => {
    connectedClients.dec();
    clog.info('client disconnected', { reason: reason ? reason.message : 'closed' });
  });
}

export async function startRemoteSigner(config: RemoteSignerConfig, options: StartRemoteSignerOptions = {}): Promise<RunningRemoteSigner> {
  const log = options.logger ?? createLogger({ base: { component: 'remote-signer' } });
  signerReady.set(0);
  const passphrase = passphraseOf(config, config.profile);
  const identity = await openIdentityKey(config.identityKeystorePath, { passphrase, profile: config.profile });
  let store: ProtectionStore | null = null;
  let audit: AuditLog | null = null;
  const signers: ValidatorSigner[] = [];
  let kemtls: KemtlsServer | null = null;
  try {
    store = await openProtectionStore(config.protectionStore, { create: options.createProtectionStore ?? false });
    audit = AuditLog.open(config.auditLogPath);
    for (const inner of await loadBackends(config, passphrase, log)) {
      signers.push(new ProtectedSigner(inner, store, { chainId: config.chainId, logger: log }));
    }
    const service = new SigningService({ signers: new Map(signers.map((s) => [s.validatorId, s])), rateLimitRps: config.rateLimitRps, audit, logger: log });
    const policies = clientPolicies(config);
    kemtls = createKemtlsServer({
      serverKey: identity,
      allowedClients: config.clients.map((c) => c.publicKey),
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      maxConnections: config.maxConnections,
      logger: log,
    });
    kemtls.on('connection', (conn: KemtlsConnection) => {
      const policy = policies.get(conn.peerFingerprint);
      if (!policy) return conn.close(); // cannot happen: the allow list is the same set of keys
      serveConnection(conn, policy, service, log);
    });
    const running = await listen(config, kemtls, store, signers, audit, identity, log);
    validatorsServed.set(signers.length);
    signerReady.set(1);
    log.info('remote signer ready', {
      listen: `${running.address.address}:${running.address.port}`,
      validators: signers.map((s) => s.validatorId.toString()).join(','),
      backend: config.backendMode,
      profile: config.profile,
      store: store.description,
      clients: config.clients.length,
    });
    return running;
  } catch (err) {
    await kemtls?.close().catch(() => undefined);
    for (const s of signers) await s.close().catch(() => undefined);
    audit?.close();
    await store?.close().catch(() => undefined);
    throw err;
  }
}

async function listen(
  config: RemoteSignerConfig,
  kemtls: KemtlsServer,
  store: ProtectionStore,
  signers: ValidatorSigner[],
  audit: AuditLog,
  identity: KemKeyPair,
  log: Logger,
): Promise<RunningRemoteSigner> {
  let closed = false;
  const checkReady = async (): Promise<{ ready: boolean; reason: string }> => {
    if (closed) return { ready: false, reason: 'shutting down' };
    try {
      await store.probe();
    } catch (err) {
      signerReady.set(0);
      return { ready: false, reason: `protection store not writable: ${errorMessage(err)}` };
    }
    signerReady.set(1);
    return { ready: true, reason: `${signers.length} validator(s) loaded, protection store writable` };
  };
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    handleHttp(req, res, config.metricsEnabled, checkReady).catch((err: unknown) => {
      log.error('http request failed', { path: req.url ?? '', error: errorMessage(err) });
      res.destroy();
    });
  });
  const tcp = createTcpServer({ noDelay: true }, (socket: Socket) => {
    socket.once('data', (head: Buffer) => {
      socket.pause();
      if (head[0] !== KEMTLS_FIRST_BYTE && head[0]! >= 0x41 && head[0]! <= 0x5a) {
        socket.unshift(head);
        http.emit('connection', socket);
        socket.resume();
      } else {
        kemtls.acceptSocket(socket, head);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(config.listen.port, config.listen.host, () => {
      tcp.off('error', reject);
      resolve(tcp.address() as AddressInfo);
    });
  });
  return {
    address,
    identityPublicKey: identity.publicKey,
    validatorIds: signers.map((s) => s.validatorId),
    checkReady,
    async close() {
      if (closed) return;
      closed = true;
      signerReady.set(0);
      tcp.close();
      http.closeAllConnections();
      await kemtls.close();
      for (const s of signers) await s.close().catch(() => undefined);
      audit.close();
      await store.close();
      log.info('remote signer stopped');
    },
  };
}

async function handleHttp(req: IncomingMessage, res: ServerResponse, metricsEnabled: boolean, checkReady: () => Promise<{ ready: boolean; reason: string }>): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
  } else if (path === '/metrics' && metricsEnabled) {
    const body = await metricsRegistry.metrics();
    res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(req.method === 'HEAD' ? undefined : body);
  } else if (path === '/health' || path === '/healthz' || path === '/ready') {
    const r = await checkReady();
    res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: r.ready ? 'ready' : 'not-ready', reason: r.reason }) + '\n');
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /health\n');
  }
}
