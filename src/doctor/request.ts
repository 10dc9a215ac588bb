import type { Queues } from '../jobs/queues.js';

/** The control task that recomputes the drift warnings. */
export const DOCTOR_TASK = 'doctor';

/** Asks a worker to check for drift soon; a burst of requests makes one run (and one after a running one). */
export async function requestDoctor(queues: Pick<Queues, 'control'>): Promise<void> {
  await queues.control.add(
    DOCTOR_TASK,
    {},
    {
      deduplication: { id: DOCTOR_TASK, keepLastIfActive: true },
      removeOnComplete: 100,
      removeOnFail: 100,
    },
  );
}
