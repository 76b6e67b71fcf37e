// The HSM signer's Prometheus metrics (design doc §3.5, runbook §4.5, §10.3):
// signatures made, signing errors by kind, the last signing latency, and
// whether startup checks passed. Registered once in the process registry.

import { counter, gauge } from '../metrics/registry.ts';

/**
 * Kinds of signing errors:
 *  - runtime: the token returned an error while signing (runbook §10.3);
 *  - session: the session or login was lost (counted even when recovered);
 *  - key: the key vanished, changed or could not be found again;
 *  - closed: signing was asked of a closed provider.
 */
export type HsmSignErrorKind = 'runtime' | 'session' | 'key' | 'closed';
export const HSM_SIGN_ERROR_KINDS: readonly HsmSignErrorKind[] = ['runtime', 'session', 'key', 'closed'];

export const hsmSignSuccessTotal = counter({ name: 'qbind_hsm_sign_success_total', help: 'Signatures made by the HSM signer' });
export const hsmSignErrorTotal = counter<'kind'>({ name: 'qbind_hsm_sign_error_total', help: 'HSM signing errors by kind (runtime, session, key, closed)', labelNames: ['kind'] });
export const hsmSignLastLatencyMs = gauge({ name: 'qbind_hsm_sign_last_latency_ms', help: 'Duration of the last HSM signing call in milliseconds' });
export const hsmStartupOk = gauge({ name: 'qbind_hsm_startup_ok', help: '1 when the HSM signer passed its startup checks (token, login, key, public key, probe signature), else 0' });

/** Makes every error series exist at 0, so "== 0" alerts work before the first error. */
export function initHsmMetrics(): void {
  for (const kind of HSM_SIGN_ERROR_KINDS) hsmSignErrorTotal.inc({ kind }, 0);
}
