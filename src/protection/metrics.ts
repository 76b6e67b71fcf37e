// Prometheus metrics of the double-sign protection (docs/protection.md
// "Metrics"): refusals by message kind, decision latency and group-commit
// batch sizes by store backend.

import { counter, histogram } from '../metrics/registry.ts';

export const doubleSignRefused = counter({
  name: 'qbind_signer_double_sign_refused_total',
  help: 'Signing requests refused because they conflict with something already signed',
  labelNames: ['kind'] as const,
});

export const decisionSeconds = histogram({
  name: 'qbind_signer_protection_decision_seconds',
  help: 'Time from a signing request reaching the protection to its durable decision (queueing, transaction, fsync)',
  labelNames: ['store'] as const,
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
});

export const batchSize = histogram({
  name: 'qbind_signer_protection_batch_size',
  help: 'Operations committed together in one protection store transaction (group commit)',
  labelNames: ['store'] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
});

export const storeFailures = counter({
  name: 'qbind_signer_protection_store_failures_total',
  help: 'Protection store transactions that failed (the requests in them were refused)',
  labelNames: ['store'] as const,
});
