// Writes test/vectors/kemtls-v1.json from the current code: run it only when
// the protocol changes on purpose (`node test/kemtls/make-vector.ts`).
// `--docs` prints the Markdown of docs/kemtls.md §11 instead (values wrapped
// at 64 hex digits); vector.test.ts checks both files against the code.

import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { computeVector } from './vector-fixture.ts';

const vector = computeVector();
const target = new URL('../vectors/kemtls-v1.json', import.meta.url);

function docs(): string {
  const wrap = (hex: string): string => hex.match(/.{1,64}/g)!.join('\n');
  const sha = (hex: string): string => createHash('sha3-256').update(Buffer.from(hex, 'hex')).digest('hex');
  const out: string[] = [];
  const table = (title: string, entries: Record<string, string>): void => {
    out.push(`**${title}**`, '', '| name | bytes | hex |', '| --- | --- | --- |');
    for (const [k, v] of Object.entries(entries)) out.push(`| ${k} | ${v.length / 2} | \`${v}\` |`);
    out.push('');
  };
  const blocks = (title: string, entries: Record<string, string>): void => {
    out.push(`<details><summary>${title}</summary>`, '');
    for (const [k, v] of Object.entries(entries)) out.push(`${k} (${v.length / 2} bytes, SHA3-256 \`${sha(v)}\`):`, '', '```', wrap(v), '```', '');
    out.push('</details>', '');
  };
  table('Inputs', vector.inputs);
  table('Shared secrets', { ss_S: vector.kem.ss_S!, ss_e: vector.kem.ss_e!, ss_C: vector.kem.ss_C! });
  table('Transcript hashes', vector.transcript);
  table('Key schedule', vector.key_schedule);
  table('Traffic keys', vector.traffic);
  const short = Object.fromEntries(Object.entries(vector.messages).filter(([k]) => !k.endsWith('hello')));
  table('ClientFinished and first records', short);
  blocks('Public keys', vector.public_keys);
  blocks('Ciphertexts', { ct_S: vector.kem.ct_S!, ct_e: vector.kem.ct_e!, ct_C: vector.kem.ct_C! });
  blocks('ClientHello and ServerHello', { client_hello: vector.messages.client_hello!, server_hello: vector.messages.server_hello! });
  return out.join('\n');
}

if (process.argv.includes('--docs')) process.stdout.write(docs());
else {
  writeFileSync(target, JSON.stringify(vector, null, 2) + '\n');
  console.log(`wrote ${target.pathname}`);
}
