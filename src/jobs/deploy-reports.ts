import { commitUrl, type DeployMessages } from '../notify/deploy-messages.js';
import type { DeployState } from '../plan/deploy-message.js';

/** Reports one job's states to the Slack messages of a commit's deployments (`names`). */
export function deploymentReporter(
  messages: DeployMessages | undefined,
  commit: { sha: string; cloneUrl: string },
  jobId: string,
  names: readonly string[],
) {
  const url = commitUrl(commit.cloneUrl, commit.sha);
  return async (state: DeployState, only: readonly string[] = names): Promise<void> => {
    for (const name of only)
      await messages?.report({ name, sha: commit.sha, commitUrl: url }, state, jobId);
  };
}
