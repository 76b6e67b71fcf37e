// Reads a Prometheus text exposition (a daemon's GET /metrics) into totals
// per sample name, labels summed away, so a benchmark can take the difference
// of two scrapes around a phase: e.g. the mean of a histogram over the phase
// is delta(NAME_sum) / delta(NAME_count) (histogramDelta).

export type MetricTotals = ReadonlyMap<string, number>;

/** Sums every sample line by its name (the part before '{' or the space). */
export function parseExposition(text: string): MetricTotals {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + value);
  }
  return out;
}

/** GET `url` and parse it; throws with the status when it is not 200. */
export async function scrape(url: string): Promise<MetricTotals> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return parseExposition(await res.text());
}

/** [sum, count] observed by histogram `name` between two scrapes (the mean is sum / count). */
export function histogramDelta(before: MetricTotals, after: MetricTotals, name: string): [number, number] {
  const d = (suffix: string): number => (after.get(`${name}${suffix}`) ?? 0) - (before.get(`${name}${suffix}`) ?? 0);
  return [d('_sum'), d('_count')];
}
