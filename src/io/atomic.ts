// Low-level file helpers: full reads/writes over fs.readSync/writeSync and atomic replace (temp, fsync, rename).

import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Largest single read/write we issue (keeps each syscall well under the 2 GiB limit). */
export const IO_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Read exactly `dst.length` bytes at `position`. Returns the number read, which is less than asked only
 * at end of file.
 */
export function readFullySync(fd: number, dst: Uint8Array, position: number): number {
  let done = 0;
  while (done < dst.length) {
    const n = readSync(fd, dst, done, Math.min(dst.length - done, IO_CHUNK_BYTES), position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Write all of `src` at the current position (or at `position` when given). */
export function writeFullySync(fd: number, src: Uint8Array, position?: number): void {
  let done = 0;
  while (done < src.length) {
    const len = Math.min(src.length - done, IO_CHUNK_BYTES);
    const n = writeSync(fd, src, done, len, position === undefined ? null : position + done);
    done += n;
  }
}

/** fsync a directory so a rename inside it is durable; ignored where the platform does not allow it. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported (e.g. Windows): the rename is still atomic, only not yet durable
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Create `path` atomically: `write` fills a temporary file in the same directory, which is then fsynced and
 * renamed over `path`. On any error the temporary file is removed and `path` is left untouched.
 */
export function writeFileAtomicSync(path: string, write: (fd: number) => void): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx');
  try {
    write(fd);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(dir);
}

/** Atomically write a small text file (JSON configs). */
export function writeTextAtomicSync(path: string, text: string): void {
  writeFileAtomicSync(path, (fd) => writeFullySync(fd, new TextEncoder().encode(text)));
}
