// `npm run bench [-- NAME... [-- ARGS...]]`: runs every bench/*.bench.ts (or the
// named ones) one after another, each in its own process so they do not disturb
// each other; ARGS after a second `--` go to each benchmark.

import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const wanted = split < 0 ? argv : argv.slice(0, split);
const passthrough = split < 0 ? [] : argv.slice(split + 1);
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort();
const chosen = wanted.length ? all.filter((f) => wanted.includes(f.replace(/\.bench\.ts$/, ''))) : all;
if (chosen.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}; available: ${all.map((f) => f.replace(/\.bench\.ts$/, '')).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const file of chosen) {
  console.log(`\n=== ${file.replace(/\.bench\.ts$/, '')} ===`);
  const r = spawnSync(process.execPath, [dir + file, ...passthrough], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
