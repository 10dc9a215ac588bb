import dockerignore from '@balena/dockerignore';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';
import { CheckoutFileError, describeFileType, readOptionalCheckoutFile } from './checkout-file.js';
import { checkUntrustedDockerfile } from './untrusted-build.js';

export interface ContextOptions {
  includeGit: boolean;
  /** The Dockerfile's path in the checkout: read to check it is a file of the checkout. */
  dockerfile: string;
  /** A build from a fork or PR: custom frontends and remote ADD sources are refused. */
  untrusted?: boolean;
}

/**
 * The build context as a tar stream (never buffered), honouring `.dockerignore`
 * as the docker CLI does; `.git` is left out unless the build asks for it.
 * Symlinks are packed as symlinks (never followed); a FIFO or device in the
 * checkout fails the build, as the engine could not use it anyway.
 */
export async function packContext(dir: string, opts: ContextOptions): Promise<Readable> {
  const patterns = ((await readOptionalCheckoutFile(dir, '.dockerignore')) ?? '').split('\n');
  const dockerfile = await readOptionalCheckoutFile(dir, opts.dockerfile);
  if (dockerfile === undefined) throw new CheckoutFileError(opts.dockerfile, 'does not exist');
  if (opts.untrusted) checkUntrustedDockerfile(opts.dockerfile, dockerfile);
  // CommonJS default export: under NodeNext its types describe the module, not the function.
  const ignore = dockerignore as unknown as typeof dockerignore.default;
  const rules = ignore({ ignorecase: false }).add(patterns);
  const ignored = (name: string) => {
    const rel = relative(dir, name);
    if (!opts.includeGit && (rel === '.git' || rel.startsWith('.git/'))) return true;
    return rel !== '' && rel !== 'Dockerfile' && rules.ignores(rel);
  };
  await refuseSpecialFiles(dir, ignored);
  return pack(dir, { ignore: ignored, dereference: false }) as unknown as Readable;
}

/** Walks what tar-fs will pack (the same entries, not following symlinks); throws at a FIFO or device. */
async function refuseSpecialFiles(dir: string, ignored: (path: string) => boolean): Promise<void> {
  const queue = [dir];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const entry of await readdir(next, { withFileTypes: true })) {
      const path = join(next, entry.name);
      if (ignored(path)) continue;
      if (entry.isDirectory()) queue.push(path);
      else if (entry.isFIFO() || entry.isCharacterDevice() || entry.isBlockDevice())
        throw new CheckoutFileError(
          relative(dir, path),
          `is ${describeFileType(await lstat(path))}: a build context holds only files, directories and symlinks`,
        );
    }
  }
}
