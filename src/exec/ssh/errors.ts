import { CommandError } from '../errors.js';

/**
 * Why an SSH connection failed. `host-key` and `auth` need an operator to act;
 * the others may go away on a retry.
 */
export type SshFailure =
  'refused' | 'timeout' | 'host-key' | 'auth' | 'closed' | 'key-file' | 'other';

/** The SSH connection itself failed (no remote command result to report). */
export class SshError extends Error {
  constructor(
    message: string,
    readonly reason: SshFailure,
    /** `host:port`, as in the message. */
    readonly where: string,
  ) {
    super(message);
    this.name = 'SshError';
  }

  get retryable(): boolean {
    return this.reason === 'refused' || this.reason === 'timeout' || this.reason === 'closed';
  }
}

/** A command ran on a remote host and exited non-zero (or was killed by a signal). */
export class RemoteCommandError extends CommandError {
  constructor(
    readonly where: string,
    argv: readonly string[],
    exitCode: number | null,
    stderrTail: string,
  ) {
    super(argv, exitCode, stderrTail);
    this.name = 'RemoteCommandError';
    this.message = `on ${where}: ${this.message}`;
  }
}
