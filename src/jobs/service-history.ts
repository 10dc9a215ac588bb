import type { DeployEntry, DeployStore } from '../store/deploy-store.js';
import { describeFailure } from './errors.js';

/**
 * Runs one service update with its history entry: written before the update (a
 * deployer updating itself is replaced mid-job), then how it ended. A failure is
 * recorded and thrown again, for the caller to report and decide on a retry.
 */
export async function withHistory(
  deploys: Pick<DeployStore, 'record'>,
  key: string,
  entry: DeployEntry,
  update: () => Promise<{ changed: boolean }>,
): Promise<'success' | 'unchanged'> {
  await deploys.record(key, entry);
  try {
    const result = (await update()).changed ? 'success' : 'unchanged';
    await deploys.record(key, { ...entry, result, finishedAt: Date.now() });
    return result;
  } catch (err) {
    const error = describeFailure(err);
    await deploys.record(key, { ...entry, result: 'failure', finishedAt: Date.now(), error });
    throw err;
  }
}
