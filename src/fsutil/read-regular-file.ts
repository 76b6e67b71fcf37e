// Reads a small file that must be a regular file and not a symbolic link
// (O_NOFOLLOW, then fstat on the same descriptor, so there is no race between
// the check and the read), returning its bytes and mode. For key, passphrase
// and config files. The caller zeroes the bytes if they are secret.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { QbindError } from '../errors.ts';

export type ReadRegularFileErrorCode = 'FILE_NOT_FOUND' | 'FILE_IS_SYMLINK' | 'FILE_NOT_REGULAR' | 'FILE_TOO_LARGE' | 'FILE_UNREADABLE';

export class ReadRegularFileError extends QbindError {
  declare readonly code: ReadRegularFileErrorCode;

  constructor(code: ReadRegularFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface RegularFile {
  data: Buffer;
  /** st_mode including the file type bits. */
  mode: number;
  uid: number;
}

export function readRegularFile(path: string, maxBytes: number): RegularFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ReadRegularFileError('FILE_NOT_FOUND', `${path} does not exist`, { cause: err });
    if (code === 'ELOOP') throw new ReadRegularFileError('FILE_IS_SYMLINK', `${path} is a symbolic link`, { cause: err });
    throw new ReadRegularFileError('FILE_UNREADABLE', `cannot open ${path} (${code ?? 'error'})`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReadRegularFileError('FILE_NOT_REGULAR', `${path} is not a regular file`);
    if (st.size > maxBytes) throw new ReadRegularFileError('FILE_TOO_LARGE', `${path} is ${st.size} bytes, more than the ${maxBytes} expected`);
    const data = Buffer.alloc(st.size);
    let off = 0;
    try {
      while (off < data.length) {
        const n = readSync(fd, data, off, data.length - off, off);
        if (n === 0) break;
        off += n;
      }
    } catch (err) {
      data.fill(0);
      throw new ReadRegularFileError('FILE_UNREADABLE', `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
    return { data: off === data.length ? data : data.subarray(0, off), mode: st.mode, uid: st.uid };
  } finally {
    closeSync(fd);
  }
}
