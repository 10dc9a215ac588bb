import { BuildError, CancelledError, CommandError } from '../exec/errors.js';

/** Failures of the thing being built are final; failures of the machinery are retried. */
export function isRetryable(err: unknown): boolean {
  return !(err instanceof BuildError || err instanceof CancelledError);
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
  return `Error: ${err instanceof Error ? err.message : String(err)}`;
}
