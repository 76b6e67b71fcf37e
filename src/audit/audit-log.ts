// Append-only, hash-chained audit log writer: one JSON line per signing
// decision (docs/audit-log.md). On open it verifies the existing file and
// continues its chain; a broken chain refuses to open (fail closed: the
// operator must look at it). Lines are written synchronously in order and
// fsync'd at most every `syncIntervalMs` and on close.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { QbindError } from '../errors.ts';
import { chainHash, GENESIS_HASH, verifyChain, type AuditRecord } from './audit-chain.ts';

export type AuditFields = Record<string, string | number | boolean | null>;

export class AuditLog {
  readonly path: string;
  #fd: number | null;
  #head: string;
  #seq: number;
  #dirty = false;
  readonly #timer: NodeJS.Timeout;

  private constructor(path: string, fd: number, head: string, seq: number, syncIntervalMs: number) {
    this.path = path;
    this.#fd = fd;
    this.#head = head;
    this.#seq = seq;
    this.#timer = setInterval(() => this.sync(), syncIntervalMs);
    this.#timer.unref();
  }

  static open(path: string, options: { syncIntervalMs?: number } = {}): AuditLog {
    let head: string;
    let seq: number;
    if (existsSync(path)) {
      const verdict = verifyChain(readFileSync(path, 'utf8'));
      if (!verdict.ok) {
        throw new QbindError('AUDIT_CHAIN_BROKEN', `audit log ${path} is broken at line ${verdict.problem!.line}: ${verdict.problem!.reason}; move it aside after investigating, then restart`);
      }
      head = verdict.head;
      seq = verdict.lastSeq;
    } else {
      head = GENESIS_HASH;
      seq = 0;
    }
    const fd = openSync(path, 'a', 0o600);
    return new AuditLog(path, fd, head, seq, options.syncIntervalMs ?? 1000);
  }

  append(event: string, fields: AuditFields): void {
    if (this.#fd === null) throw new QbindError('AUDIT_CLOSED', 'audit log is closed');
    const rec: AuditRecord = { ...fields, seq: this.#seq + 1, ts: new Date().toISOString(), event, prev: this.#head };
    const hash = chainHash(this.#head, rec);
    writeSync(this.#fd, JSON.stringify({ ...rec, hash }) + '\n');
    this.#head = hash;
    this.#seq = rec.seq;
    this.#dirty = true;
  }

  sync(): void {
    if (this.#fd !== null && this.#dirty) {
      fsyncSync(this.#fd);
      this.#dirty = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    if (this.#fd === null) return;
    this.sync();
    closeSync(this.#fd);
    this.#fd = null;
  }
}
