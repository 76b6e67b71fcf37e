// Crash-safe file writes: write a temp file in the same folder, fsync it,
// rename (or hard-link, when an existing file must not be replaced) onto the
// target, fsync the folder. A reader sees the old file or the new one, never
// half of one; a failed write leaves no temp file behind.

import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { QbindError } from '../errors.ts';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o600). */
  mode?: number;
  /** Replace an existing file (default false: fail with FILE_EXISTS). */
  overwrite?: boolean;
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', options.mode ?? 0o600);
  let placed = false;
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    if (options.overwrite) {
      renameSync(tmp, path);
    } else {
      try {
        linkSync(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new QbindError('FILE_EXISTS', `${path} already exists; refusing to overwrite it`);
        }
        throw err;
      }
      unlinkSync(tmp);
    }
    placed = true;
    fsyncDir(dir);
  } finally {
    if (!placed) {
      try { closeSync(fd); } catch { /* already closed */ }
      try { unlinkSync(tmp); } catch { /* never created or already gone */ }
    }
  }
}
