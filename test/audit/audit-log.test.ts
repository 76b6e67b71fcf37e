// The hash-chained audit log: a written log verifies; an edited, deleted or
// inserted line is found at its line number; reopening continues the chain;
// a broken log refuses to open.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { verifyChain } from '../../src/audit/audit-chain.ts';

function writeLog(n: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'qbind-audit-')), 'audit.log');
  const log = AuditLog.open(path);
  for (let i = 0; i < n; i++) log.append('sign', { validator: '42', kind: 'vote', view: String(i + 1), decision: 'signed' });
  log.close();
  return path;
}

test('a written log verifies and reopening continues the chain', () => {
  const path = writeLog(5);
  assert.deepEqual({ ok: verifyChain(readFileSync(path, 'utf8')).ok, lines: 5 }, { ok: true, lines: 5 });
  const log = AuditLog.open(path);
  log.append('sign', { validator: '42', kind: 'vote', view: '6', decision: 'signed' });
  log.close();
  const v = verifyChain(readFileSync(path, 'utf8'));
  assert.equal(v.ok, true);
  assert.equal(v.lastSeq, 6);
});

test('finds an edited line, a deleted line and an inserted line', () => {
  const path = writeLog(6);
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const edited = [...lines];
  edited[2] = edited[2]!.replace('"view":"3"', '"view":"9"');
  assert.deepEqual(verifyChain(edited.join('\n') + '\n').problem?.line, 3);
  assert.match(verifyChain(edited.join('\n')).problem!.reason, /edited/);
  const deleted = lines.filter((_, i) => i !== 3);
  assert.deepEqual(verifyChain(deleted.join('\n') + '\n').problem?.line, 4);
  assert.match(verifyChain(deleted.join('\n')).problem!.reason, /deleted/);
  const inserted = [...lines.slice(0, 2), lines[1]!, ...lines.slice(2)];
  assert.equal(verifyChain(inserted.join('\n')).problem?.line, 3);
  writeFileSync(path, edited.join('\n') + '\n');
  assert.throws(() => AuditLog.open(path), (e: unknown) => e instanceof Error && /broken at line 3/.test(e.message));
});
