import dockerignore from '@balena/dockerignore';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';

/**
 * The build context as a tar stream (never buffered), honouring `.dockerignore`
 * as the docker CLI does; `.git` is left out unless the build asks for it.
 */
export function packContext(dir: string, opts: { includeGit: boolean }): Readable {
  let patterns: string[] = [];
  try {
    patterns = readFileSync(join(dir, '.dockerignore'), 'utf8').split('\n');
  } catch {
    // no .dockerignore: everything goes
  }
  // CommonJS default export: under NodeNext its types describe the module, not the function.
  const ignore = dockerignore as unknown as typeof dockerignore.default;
  const rules = ignore({ ignorecase: false }).add(patterns);
  return pack(dir, {
    ignore: (name) => {
      const rel = relative(dir, name);
      if (!opts.includeGit && (rel === '.git' || rel.startsWith('.git/'))) return true;
      return rel !== '' && rel !== 'Dockerfile' && rules.ignores(rel);
    },
  }) as unknown as Readable;
}
