import { spawn } from 'node:child_process';
import { CancelledError, CommandError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  /** Added to the inherited environment; the place for secrets, which never go in argv. */
  env?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Written to the command's standard input. */
  input?: string;
}

const TAIL = 4000;

/** The one place the deployer starts local processes: argv in, stdout out, typed error on failure. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      timeout: opts.timeoutMs,
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-TAIL)));
    child.on('error', (err) => {
      if (opts.signal?.aborted)
        reject(new CancelledError(String(opts.signal.reason ?? 'cancelled')));
      else reject(new CommandError(argv, null, err.message));
    });
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else if (opts.signal?.aborted)
        reject(new CancelledError(String(opts.signal.reason ?? 'cancelled')));
      else reject(new CommandError(argv, code, stderr));
    });
  });
}
