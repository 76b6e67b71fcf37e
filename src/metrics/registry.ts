// The process-wide Prometheus registry every module registers its metrics in,
// and the helper that creates a metric once even when a module is loaded twice.

import { Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';

export const metricsRegistry = new Registry();

export function counter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
  return (metricsRegistry.getSingleMetric(config.name) as Counter<T> | undefined) ?? new Counter({ ...config, registers: [metricsRegistry] });
}

export function gauge<T extends string>(config: GaugeConfiguration<T>): Gauge<T> {
  return (metricsRegistry.getSingleMetric(config.name) as Gauge<T> | undefined) ?? new Gauge({ ...config, registers: [metricsRegistry] });
}

export function histogram<T extends string>(config: HistogramConfiguration<T>): Histogram<T> {
  return (metricsRegistry.getSingleMetric(config.name) as Histogram<T> | undefined) ?? new Histogram({ ...config, registers: [metricsRegistry] });
}
