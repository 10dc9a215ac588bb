import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { Queue } from 'bullmq';

export const BOARD_PATH = '/admin/queues';

/**
 * The BullMQ dashboard over the flavour's queues, read-only: jobs are changed
 * through the admin actions, which are CSRF-protected and logged.
 */
export function queueBoard(queues: Queue[], title: string): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: title } },
  });
  return adapter.getRouter() as Router;
}
