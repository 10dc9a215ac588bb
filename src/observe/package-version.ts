import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Deployer's version: that of the nearest package.json above `dir` (src/… or dist/src/…). */
export function packageVersion(dir = import.meta.dirname): string {
  for (let at = dir; ; at = dirname(at)) {
    const file = join(at, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as PackageJson).version;
    if (dirname(at) === at) return 'unknown';
  }
}

interface PackageJson {
  version: string;
}
