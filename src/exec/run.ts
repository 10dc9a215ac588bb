import { spawn } from 'node:child_process';
import { childEnv } from './child-env.js';
import { CancelledError, CommandError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  /**
   * Added to the allow-listed part of the deployer's environment (see child-env.ts);
   * the place for what the command needs, secrets included, which never go in argv.
   */
  env?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Written to the command's standard input. */
  input?: string;
}

/** How a command that ran to its end exited, and what it printed. */
export interface Exited {
  code: number;
  stdout: string;
  /** The last 4000 characters. */
  stderr: string;
}

const TAIL = 4000;

/** The one place the deployer starts local processes: argv in, stdout out, typed error on failure. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const exited = await runToExit(argv, opts);
  if (exited.code !== 0) throw new CommandError(argv, exited.code, exited.stderr);
  return exited.stdout;
}

/**
 * Like `run`, for a command whose exit code is one of its answers (a credential
 * helper prints why it failed on stdout): any exit is resolved; a command that
 * cannot start, is killed (time limit) or is cancelled is rejected.
 */
export function runToExit(argv: readonly string[], opts: RunOptions = {}): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: { ...childEnv(), ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      timeout: opts.timeoutMs,
    });
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => undefined); // a command that exits without reading it
      child.stdin?.end(opts.input);
    }
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
      if (code === 0) resolve({ code, stdout, stderr });
      else if (opts.signal?.aborted)
        reject(new CancelledError(String(opts.signal.reason ?? 'cancelled')));
      else if (code === null) reject(new CommandError(argv, null, stderr));
      else resolve({ code, stdout, stderr });
    });
  });
}
