import { DelayedError, type Job } from 'bullmq';
import type { Octokit } from '../github/check-runs.js';
import { setDeploymentStatus, startDeployment } from '../github/deployments.js';
import { deployMessage } from '../notify/slack.js';
import { jobUrl } from '../plan/check-run-output.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import type { DeployEntry } from '../store/deploy-store.js';
import type { DeployDeps } from './deploy.js';
import { describeFailure, isRetryable } from './errors.js';
import type { JobLog } from './job-log.js';
import { withHistory } from './service-history.js';

const LOCK_RETRY_MS = 2_000;

export async function isHead(deps: DeployDeps, data: DeployJobData): Promise<boolean> {
  return (await deps.store.heads(data.repo))[`refs/heads/${data.branch}`] === data.sha;
}

/** One thing to upgrade: a Swarm service, a stack, a compose project or a unikernel. */
export interface DeployUnit {
  /** Lock and history key, unique per engine or host. */
  key: string;
  /** The GitHub environment and the name in messages. */
  name: string;
  uri?: string;
  image: string;
  digest: string;
  run: (log: (line: string) => void) => Promise<{ changed: boolean }>;
  /** Failed before it could start (its image could not be written): nothing to confirm. */
  failedBefore?: boolean;
}

/** How one unit went: a failure message, or kept back by an admin's pin. */
export interface UnitOutcome {
  failure?: string;
  pinned?: boolean;
}

/** A pinned service is left alone by pushes (a rollback is what pins it); true when it is. */
async function keptByPin(deps: DeployDeps, data: DeployJobData, unit: DeployUnit, log: JobLog) {
  if (data.rollback) return false;
  const pin = await deps.deploys.pin(unit.key);
  if (!pin) return false;
  log.line(
    `${unit.name}: pinned to ${pin.sha.slice(0, 7)} by ${pin.by}: ${data.sha.slice(0, 7)} not deployed (an admin unpins it in the web UI)`,
  );
  await deps.deploys.noteSkipped(unit.key, data.sha);
  return true;
}

/** Deploys one unit under its lock. */
export async function upgrade(
  deps: DeployDeps,
  job: Job<DeployJobData>,
  token: string | undefined,
  log: JobLog,
  unit: DeployUnit,
): Promise<UnitOutcome> {
  const { data } = job;
  if (await keptByPin(deps, data, unit, log)) return { pinned: true };
  if (!unit.failedBefore)
    await deps.gates?.pass(
      job,
      token,
      'deploy',
      `${data.rollback ? 'roll back' : 'update'} ${unit.name} to ${data.sha.slice(0, 7)} (${unit.digest})`,
    );
  const lock = await deps.deploys.lock(unit.key, deps.lockTtlMs);
  if (!lock) {
    log.line(`${unit.key} is being deployed by another job; waiting`);
    await job.moveToDelayed(Date.now() + LOCK_RETRY_MS, token);
    throw new DelayedError();
  }
  const logUrl = jobUrl(deps.baseUrl, job.id!);
  const short = data.sha.slice(0, 7);
  const entry: DeployEntry = {
    sha: data.sha,
    digest: unit.digest,
    image: unit.image,
    repo: data.repo,
    branch: data.branch,
    jobId: job.id!,
    result: 'deploying',
    startedAt: Date.now(),
    specKey: data.specKey,
    cloneUrl: data.cloneUrl,
    installationId: data.installationId,
    trigger: data.rollback ? { kind: 'rollback', by: data.rollback.by } : { kind: 'push' },
  };
  const [owner, repo] = data.repo.split('/');
  const octokit = deps.github ? await deps.github(data.installationId) : undefined;
  let deploymentId: number | undefined;
  const status = async (state: 'success' | 'failure', description: string) => {
    if (octokit && deploymentId !== undefined)
      await setDeploymentStatus(octokit, { owner, repo }, deploymentId, state, {
        uri: unit.uri,
        logUrl,
        description,
      });
    const commitUrl = `${data.cloneUrl.replace(/\.git$/, '')}/commit/${data.sha}`;
    await deps.notify(
      deployMessage({ commitUrl, sha: data.sha, service: unit.name, state, logUrl }),
    );
  };
  try {
    if (await keptByPin(deps, data, unit, log)) return { pinned: true }; // pinned while we waited
    if (!data.rollback && !(await isHead(deps, data))) {
      log.line(
        `${unit.name}: ${short} is no longer the head of ${data.branch}: skipped (superseded)`,
      );
      return {};
    }
    if (octokit) {
      await closeInterrupted(deps, job, unit, octokit, logUrl);
      deploymentId = await startDeployment(
        octokit,
        { owner, repo },
        {
          sha: data.sha,
          environment: unit.name,
          uri: unit.uri,
          logUrl,
          description: `Deploying ${short} to ${unit.name}`,
        },
      );
    }
    if (deploymentId !== undefined) entry.deploymentId = deploymentId;
    const result = await withHistory(deps.deploys, unit.key, entry, () =>
      unit.run((line) => log.line(line)),
    );
    deps.onResult?.(unit.name, result);
    await status(
      'success',
      result === 'success' ? `Deployed ${short}` : `Already running ${short}`,
    );
    await deps.deploys.addDeployedTo(data.repo, data.sha, unit.key);
    await deps.requestCheckSync?.(data.repo, data.sha);
    return {};
  } catch (err) {
    const reason = describeFailure(err);
    log.line(`${unit.name}: ${reason}`);
    deps.onResult?.(unit.name, 'failure');
    await status('failure', reason).catch(() => undefined);
    if (isRetryable(err)) throw err; // the machinery failed: retry the job
    return { failure: `${unit.name}: ${reason}` };
  } finally {
    await lock.release();
  }
}

/**
 * An earlier attempt of this job that was stopped mid-update (its worker killed) left
 * its GitHub Deployment in progress: it is marked `error` before the retry starts its own.
 */
async function closeInterrupted(
  deps: DeployDeps,
  job: Job<DeployJobData>,
  unit: DeployUnit,
  octokit: Octokit,
  logUrl: string,
): Promise<void> {
  const [latest] = await deps.deploys.history(unit.key);
  if (latest?.jobId !== job.id || latest.result !== 'deploying' || !latest.deploymentId) return;
  const [owner, repo] = job.data.repo.split('/');
  await setDeploymentStatus(octokit, { owner, repo }, latest.deploymentId, 'error', {
    uri: unit.uri,
    logUrl,
    description: 'Interrupted (its worker stopped); the job was retried',
  });
}
