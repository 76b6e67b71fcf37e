// Prometheus metrics of the KEMTLS channel (both roles), in the process-wide
// registry: handshakes by result, open connections, and post-handshake
// failures by reason. Labels take only fixed values (roles, error reasons).

import { counter, gauge } from '../metrics/registry.ts';

export const kemtlsHandshakesTotal = counter({
  name: 'qbind_kemtls_handshakes_total',
  help: 'KEMTLS handshakes by role and result ("ok" or the failure reason)',
  labelNames: ['role', 'result'] as const,
});

export const kemtlsConnectionsOpen = gauge({
  name: 'qbind_kemtls_connections_open',
  help: 'KEMTLS connections currently established, by role',
  labelNames: ['role'] as const,
});

export const kemtlsConnectionFailuresTotal = counter({
  name: 'qbind_kemtls_connection_failures_total',
  help: 'Established KEMTLS connections ended by a failure, by role and reason',
  labelNames: ['role', 'reason'] as const,
});
