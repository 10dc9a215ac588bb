import { execFileSync } from 'node:child_process';
import type { Arch } from '../../src/config/schema.js';
import type { Harness } from './harness.js';

/** Removes the local images the harness's workers built for `shas` of `repo` (tags only). */
export function removeBuildImages(
  h: Harness,
  repo: string,
  shas: string[],
  pools: Arch[] = ['linux-x86_64'],
): void {
  const specs = h.deployer.runtime.index.get(repo.toLowerCase())?.specs ?? [];
  const tags = specs.flatMap((s) =>
    shas.flatMap((sha) => pools.map((p) => `deployer-build/${s.key}:${sha.slice(0, 12)}-${p}`)),
  );
  for (const tag of tags) {
    try {
      execFileSync('docker', ['rmi', tag], { stdio: 'ignore' });
    } catch {
      // never built, or already gone
    }
  }
}
