// Prometheus metrics of the remote signer daemon and its client, with the
// runbook's names where it has them (runbook §4.1, §6.3, §9, §10.2).

import { counter, gauge, histogram } from '../metrics/registry.ts';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Daemon: every request received, by message kind. */
export const signRequestsTotal = counter({ name: 'qbind_signer_sign_requests_total', help: 'Sign requests received by the signer, by message kind', labelNames: ['kind'] as const });
/** Daemon: requests that did not produce a signature, by reason (the SignError code, lower case). */
export const signFailuresTotal = counter({ name: 'qbind_signer_sign_failures_total', help: 'Sign requests answered with an error, by reason', labelNames: ['reason'] as const });
export const signDurationSeconds = histogram({ name: 'qbind_signer_sign_duration_seconds', help: 'Time from request decoded to response ready in the signer daemon', labelNames: ['kind'] as const, buckets: LATENCY_BUCKETS });
export const connectedClients = gauge({ name: 'qbind_signer_connected_clients', help: 'Authenticated KEMTLS client connections open' });
export const validatorsServed = gauge({ name: 'qbind_signer_validators_served', help: 'Validators whose keys this signer has loaded' });
export const signerReady = gauge({ name: 'qbind_signer_ready', help: '1 when keys are loaded and the protection store is writable' });

/** Node side: failed remote sign calls, by reason (transport, timeout, or the refusal code). */
export const remoteSignFailuresTotal = counter({ name: 'qbind_remote_sign_failures_total', help: 'Remote sign requests from this node that failed, by reason', labelNames: ['reason'] as const });
export const remoteSignDurationSeconds = histogram({ name: 'qbind_remote_sign_duration_seconds', help: 'Round trip of a remote sign request seen by the node', labelNames: ['kind'] as const, buckets: LATENCY_BUCKETS });
