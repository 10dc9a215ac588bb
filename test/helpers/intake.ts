import { pino } from 'pino';
import { startIntakeWorker } from '../../src/jobs/intake-worker.js';
import type { Runtime } from '../../src/wiring/runtime.js';

export interface RunningIntake {
  /** Resolves once every delivery enqueued so far has been taken in. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A worker's intake (src/jobs/intake-worker.ts) against `runtime`'s queues, for tests
 * whose deployer runs no worker: the receiver only enqueues a delivery's commit.
 */
export function runIntake(runtime: Runtime): RunningIntake {
  const close = startIntakeWorker({
    deps: runtime,
    connection: runtime.redis,
    prefix: runtime.queues.prefix,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    lockMs: 30_000,
  });
  return {
    settled: () => intakeSettled(runtime),
    close,
  };
}

/** Waits until nothing is left to take in (by whichever worker runs the intake). */
export async function intakeSettled(runtime: Runtime, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await runtime.queues.intake.drained()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `intake not settled: ${await runtime.queues.intake.backlog()} deliveries left`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
