// Writes test/vectors/kemtls-v1.json from the current code: run it only when
// the protocol changes on purpose (`node test/kemtls/make-vector.ts`), then
// update docs/kemtls.md with `--docs` output. vector.test.ts checks the file.

import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { computeVector } from './vector-fixture.ts';

const vector = computeVector();
const target = new URL('../vectors/kemtls-v1.json', import.meta.url);
if (process.argv.includes('--docs')) {
  const sha = (h: string): string => createHash('sha3-256').update(Buffer.from(h, 'hex')).digest('hex');
  for (const [k, v] of Object.entries(vector.messages)) console.log(`${k} (${v.length / 2} bytes) sha3-256 ${sha(v)}`);
  console.log(JSON.stringify(vector, null, 2));
} else {
  writeFileSync(target, JSON.stringify(vector, null, 2) + '\n');
  console.log(`wrote ${target.pathname}`);
}
