import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';

/** Files the worker reads from a checkout (.dockerignore, Dockerfile, compose file) are small. */
export const CHECKOUT_FILE_MAX_BYTES = 1024 * 1024;

/**
 * A file of a checkout that the worker refuses to read: a symlink out of the
 * checkout, a FIFO or device, a directory, or a file too large. The checkout is
 * the commit's own content, so retrying cannot help.
 */
export class CheckoutFileError extends Error {
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`${file} in the checkout ${why}`);
    this.name = 'CheckoutFileError';
  }
}

export interface CheckoutFileOptions {
  maxBytes?: number;
}

/** What a non-regular file is, in words. */
export function describeFileType(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

const missing = (err: unknown) =>
  (err as NodeJS.ErrnoException).code === 'ENOENT' ||
  (err as NodeJS.ErrnoException).code === 'ENOTDIR';

/**
 * Reads `file` (relative to the checkout `root`) as UTF-8, or undefined when there is
 * no such file. Symlinks (the file's or a parent directory's) are followed only while
 * they stay inside the checkout; only a regular file is read, opened without following
 * a last-moment symlink and without blocking, and never more than `maxBytes`.
 */
export async function readOptionalCheckoutFile(
  root: string,
  file: string,
  opts: CheckoutFileOptions = {},
): Promise<string | undefined> {
  const maxBytes = opts.maxBytes ?? CHECKOUT_FILE_MAX_BYTES;
  const rel = normalize(file);
  if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`))
    throw new CheckoutFileError(file, 'is outside the checkout');
  const top = await realpath(root);
  let real: string;
  try {
    real = await realpath(join(top, rel));
  } catch (err) {
    if (missing(err)) return undefined;
    if ((err as NodeJS.ErrnoException).code === 'ELOOP')
      throw new CheckoutFileError(file, 'is a symlink loop');
    throw err;
  }
  if (!real.startsWith(top + sep))
    throw new CheckoutFileError(file, `is a symlink to ${real}, outside the checkout`);
  const before = await lstat(real);
  if (!before.isFile())
    throw new CheckoutFileError(file, `is ${describeFileType(before)}, not a regular file`);
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new CheckoutFileError(file, `is ${describeFileType(stat)}, not a regular file`);
    if (stat.size > maxBytes) throw tooLarge(file, maxBytes);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw tooLarge(file, maxBytes);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** As readOptionalCheckoutFile, and a missing file is an error too. */
export async function readCheckoutFile(
  root: string,
  file: string,
  opts: CheckoutFileOptions = {},
): Promise<string> {
  const text = await readOptionalCheckoutFile(root, file, opts);
  if (text === undefined) throw new CheckoutFileError(file, 'does not exist');
  return text;
}

function tooLarge(file: string, maxBytes: number): CheckoutFileError {
  return new CheckoutFileError(file, `is larger than the ${maxBytes} bytes allowed`);
}
