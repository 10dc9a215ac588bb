/** A build that ran and failed (bad Dockerfile, failing step): retrying will not help. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

/** The job was cancelled, e.g. superseded by a newer commit. */
export class CancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CancelledError';
  }
}

/** A command run locally or on a remote host exited non-zero. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(
      `${argv[0]} ${argv[1] ?? ''} failed (exit ${exitCode ?? 'signal'}): ${stderrTail.trim().split('\n').slice(-3).join(' / ')}`,
    );
    this.name = 'CommandError';
  }
}

/** The Docker Engine refused or failed an operation (pull, push, service update). */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}
