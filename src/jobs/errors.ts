import { ConfigError } from '../config/load.js';
import { BuildError, CancelledError, CommandError } from '../exec/errors.js';
import { DeployError } from '../targets/target.js';

/**
 * Failures of the thing being built or deployed, and of configuration, are final;
 * failures of the machinery are retried unless the error itself says a retry
 * cannot help (an SSH host key mismatch, a registry refusing credentials).
 */
export function isRetryable(err: unknown): boolean {
  if (
    err instanceof BuildError ||
    err instanceof CancelledError ||
    err instanceof DeployError ||
    err instanceof ConfigError
  )
    return false;
  if (err !== null && typeof err === 'object' && 'retryable' in err) return Boolean(err.retryable);
  return true;
}

/** Why a job was cancelled, e.g. "superseded by 1a2b3c4". */
export function cancelReason(err: unknown, signal?: AbortSignal): string {
  return err instanceof CancelledError ? err.message : String(signal?.reason ?? 'cancelled');
}

/** One line for the check run and the job log, never a stack trace. */
export function describeFailure(err: unknown, signal?: AbortSignal): string {
  if (err instanceof CancelledError || signal?.aborted)
    return `Cancelled: ${cancelReason(err, signal)}`;
  if (err instanceof BuildError) return `Build failed: ${err.message}`;
  if (err instanceof CommandError) return `Command failed: ${err.message}`;
  if (err instanceof DeployError) return `Deploy failed: ${err.message}`;
  return `Error: ${err instanceof Error ? err.message : String(err)}`;
}

/** A job's final failure, saying how many attempts it took when there were several. */
export function givenUp(reason: string, attempts: number): string {
  return attempts > 1 ? `${reason} (after ${attempts} attempts)` : reason;
}
