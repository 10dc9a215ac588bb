import type { Job } from 'bullmq';
import { writeCheckRun, type Octokit } from '../github/check-runs.js';
import { checkRunState, type BuildRecord } from '../plan/check-run-output.js';
import type { CommitStore } from '../store/commit-store.js';
import type { Gates } from '../store/gates.js';
import type { CheckJobData } from './queues.js';

export interface CheckDeps {
  store: CommitStore;
  /** Operations waiting for an admin (the check run asks for them). */
  gates?: Gates;
  baseUrl: string;
  /** Absent in local mode: there is no App to write check runs with. */
  github?: (installationId: number) => Promise<Octokit>;
}

const asQueued = (r: BuildRecord): BuildRecord => ({
  specKey: r.specKey,
  label: r.label,
  pool: r.pool,
  jobId: r.jobId,
  queuedAt: r.queuedAt,
  status: 'queued',
});

/**
 * Writes the commit's check run from its current build records. Runs off the
 * webhook's request path, coalesced per commit, and skips writes that change nothing.
 */
export async function processCheckSync(deps: CheckDeps, job: Job<CheckJobData>): Promise<string> {
  const { repo, sha } = job.data;
  const [meta, records, waiting, deployedTo, deploys] = await Promise.all([
    deps.store.meta(repo, sha),
    deps.store.records(repo, sha),
    deps.gates?.pendingFor(repo, sha),
    deps.store.deployedTo(repo, sha),
    deps.store.deployStates(repo, sha),
  ]);
  if (!meta || records.length === 0) return 'nothing recorded';
  if (!deps.github) return 'no GitHub App (local mode)';
  const state = checkRunState(records, deps.baseUrl, { waiting, deployedTo, deploys });
  const body = JSON.stringify(state);
  if (body === meta.lastWritten && meta.checkRunId !== undefined) return 'unchanged';
  const [owner, name] = repo.split('/');
  const octokit = await deps.github(meta.installationId);
  // A completed check run is not reopened: work going on after a confirmation gets a fresh one.
  const reopened = state.status !== 'completed' && wasCompleted(meta.lastWritten);
  let checkRunId = reopened ? undefined : meta.checkRunId;
  if (checkRunId === undefined) {
    // Created as it was when the commit arrived, so GitHub always shows queued first.
    const queued = checkRunState(records.map(asQueued), deps.baseUrl, {
      waiting,
      deployedTo,
      deploys,
    });
    checkRunId = await writeCheckRun(octokit, { owner, repo: name, sha }, queued);
    await deps.store.noteCheckRun(repo, sha, { checkRunId, lastWritten: JSON.stringify(queued) });
    if (JSON.stringify(queued) === body) return 'queued';
  }
  await writeCheckRun(octokit, { owner, repo: name, sha, checkRunId }, state);
  await deps.store.noteCheckRun(repo, sha, { checkRunId, lastWritten: body });
  return `${state.status}${state.conclusion ? `/${state.conclusion}` : ''}`;
}

function wasCompleted(lastWritten: string | undefined): boolean {
  if (!lastWritten) return false;
  return (JSON.parse(lastWritten) as { status?: string }).status === 'completed';
}
