import { ConfigError } from '../../config/load.js';

const SAFE = /^[A-Za-z0-9_/.,:@%+-]+$/;

/** One POSIX shell word per argument: what `sh -c` on the other side splits back into argv. */
export function shellQuote(argv: readonly string[]): string {
  return argv
    .map((arg, i) => {
      if (arg.includes('\0')) throw new ConfigError(`argument ${i} contains a NUL byte`);
      return SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
    })
    .join(' ');
}
