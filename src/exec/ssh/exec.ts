import { ConfigError } from '../../config/load.js';
import { withConnection } from './connect.js';
import { closedEarly } from './connection-error.js';
import { describeTarget, type SshTarget } from './destination.js';
import { RemoteCommandError, SshError } from './errors.js';
import type { SshSettings } from './settings.js';
import { shellQuote } from './shell-quote.js';

export interface SshExecOptions {
  settings: SshSettings;
  stdin?: string | Buffer;
  /** The whole call, connection included; default `settings.commandTimeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Exit codes that are answers rather than failures; default `[0]`. */
  okExitCodes?: number[];
}

export interface SshResult {
  stdout: string;
  stderr: string;
  code: number;
}

const TAIL = 4000;

/** Runs argv on the target (POSIX-quoted for the login shell there), on a fresh connection. */
export async function sshExec(
  target: SshTarget,
  argv: readonly string[],
  opts: SshExecOptions,
): Promise<SshResult> {
  if (argv.length === 0) throw new ConfigError('sshExec: empty argv');
  const command = shellQuote(argv);
  const where = describeTarget(target);
  const okCodes = opts.okExitCodes ?? [0];
  const what = `\`${argv.slice(0, 2).join(' ')}\``;
  return withConnection(target, opts, what, (conn) => {
    return new Promise<SshResult>((resolve, reject) => {
      conn.exec(command, (err, stream) => {
        if (err)
          return reject(
            new SshError(`cannot start ${what} on ${where}: ${err.message}`, 'other', where),
          );
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let code: number | null | undefined;
        let killedBy: string | undefined;
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errs.push(d));
        stream.on('exit', (c: number | null, sig?: string) => {
          code = c;
          killedBy = sig;
        });
        stream.on('close', () => {
          if (code === undefined) return reject(closedEarly(where));
          const stdout = Buffer.concat(out).toString();
          const stderr = Buffer.concat(errs).toString();
          if (code !== null && okCodes.includes(code)) return resolve({ stdout, stderr, code });
          const tail = stderr.slice(-TAIL) || (killedBy ? `killed by SIG${killedBy}` : '');
          reject(new RemoteCommandError(where, argv, code, tail));
        });
        stream.end(opts.stdin);
      });
    });
  });
}
