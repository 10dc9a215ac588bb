import type { ProbotOctokit } from 'probot';
import { CHECK_NAME, type CheckRunState } from '../plan/check-run-output.js';

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface CheckRunTarget {
  owner: string;
  repo: string;
  sha: string;
  /** Known after the first write; without it the check run is created. */
  checkRunId?: number;
}

/** Creates or updates the `deployability` check run; returns its id. */
export async function writeCheckRun(
  octokit: Octokit,
  target: CheckRunTarget,
  state: CheckRunState,
  now = new Date(),
): Promise<number> {
  const body = {
    owner: target.owner,
    repo: target.repo,
    status: state.status,
    details_url: state.detailsUrl,
    output: state.output,
    actions: state.actions,
    ...(state.conclusion ? { conclusion: state.conclusion, completed_at: now.toISOString() } : {}),
  };
  if (target.checkRunId === undefined) {
    const { data } = await octokit.rest.checks.create({
      ...body,
      name: CHECK_NAME,
      head_sha: target.sha,
      ...(state.status === 'queued' ? {} : { started_at: now.toISOString() }),
    });
    return data.id;
  }
  await octokit.rest.checks.update({ ...body, check_run_id: target.checkRunId });
  return target.checkRunId;
}
