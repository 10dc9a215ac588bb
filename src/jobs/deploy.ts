import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { repoKey, type RepoIndex } from '../config/repo-index.js';
import type { Arch, Deployment, Service } from '../config/schema.js';
import type { EngineAuth } from '../exec/docker.js';
import type { Octokit } from '../github/check-runs.js';
import { setDeploymentStatus, startDeployment } from '../github/deployments.js';
import { deployMessage, type Notify } from '../notify/slack.js';
import { jobUrl } from '../plan/check-run-output.js';
import { deploymentsFor, serviceKey, type DeployJobData } from '../plan/deploy-jobs.js';
import type { CommitStore } from '../store/commit-store.js';
import type { DeployEntry, DeployStore } from '../store/deploy-store.js';
import { targets } from '../targets/index.js';
import { DeployError, type DeployContext } from '../targets/target.js';
import { describeFailure, isRetryable } from './errors.js';
import { JobLog } from './job-log.js';

/** Side effects a deploy needs, injected so tests drive each for real. */
export interface DeployDeps {
  baseUrl: string;
  index: RepoIndex;
  store: CommitStore;
  deploys: DeployStore;
  /** Writes one manifest list at `target` over the staged per-pool images; returns its digest. */
  manifestList: (target: string, images: { ref: string; pool: Arch }[]) => Promise<string>;
  engineAuth: (image: string) => Promise<EngineAuth | undefined>;
  engine: (context: string) => Pick<DeployContext, 'docker' | 'shell'>;
  /** A file of the repository at the deployed commit (compose files). */
  readFile: (data: DeployJobData, path: string) => Promise<string>;
  /** Absent in local mode: no GitHub Deployments. */
  github?: (installationId: number) => Promise<Octokit>;
  notify: Notify;
  convergeTimeoutMs: number;
  lockTtlMs: number;
}

const LOCK_RETRY_MS = 2_000;

const commitUrl = (cloneUrl: string, sha: string) =>
  `${cloneUrl.replace(/\.git$/, '')}/commit/${sha}`;

/**
 * The deploy job: one manifest list per deployment of the branch, then each
 * service upgraded under its lock. A commit that is no longer the branch head
 * is not deployed; a service already running the image is left alone.
 */
export async function processDeploy(
  deps: DeployDeps,
  job: Job<DeployJobData>,
  token?: string,
): Promise<string> {
  const data = job.data;
  const spec = deps.index
    .get(repoKey(...(data.repo.split('/') as [string, string])))
    ?.specs.find((s) => s.key === data.specKey);
  if (!spec) throw new UnrecoverableError(`${data.repo} no longer has build ${data.specKey}`);
  const log = new JobLog(job);
  try {
    if (!(await isHead(deps, data))) {
      log.line(
        `${data.sha.slice(0, 7)} is no longer the head of ${data.branch}: not deployed (superseded)`,
      );
      return 'superseded';
    }
    const staged = await deps.deploys.staged(data.repo, data.sha, data.specKey);
    const failures: string[] = [];
    for (const deployment of deploymentsFor(spec.build, data.branch)) {
      const digest = await deps.manifestList(
        deployment.target,
        staged.map((s) => ({
          ref: `${s.ref.replace(/:[^:/]+$/, '')}@${s.digest}`,
          pool: s.pool as Arch,
        })),
      );
      log.line(
        `Wrote ${deployment.target} (${digest}) for ${staged.map((s) => s.pool).join(', ')}`,
      );
      for (const service of deployment.services) {
        const failure = await deployService(deps, job, token, log, { deployment, service, digest });
        if (failure) failures.push(failure);
      }
    }
    if (failures.length) throw new DeployError(failures.join('; '));
    await deps.deploys.setDeployedSha(data.repo, data.specKey, data.branch, data.sha);
    return 'deployed';
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    log.line(describeFailure(err));
    if (!isRetryable(err)) throw new UnrecoverableError(describeFailure(err));
    throw err;
  } finally {
    await log.flush();
  }
}

async function isHead(deps: DeployDeps, data: DeployJobData): Promise<boolean> {
  return (await deps.store.heads(data.repo))[`refs/heads/${data.branch}`] === data.sha;
}

/** Deploys one service; returns a failure message, or nothing when it went well. */
async function deployService(
  deps: DeployDeps,
  job: Job<DeployJobData>,
  token: string | undefined,
  log: JobLog,
  what: { deployment: Deployment; service: Service; digest: string },
): Promise<string | undefined> {
  const { data } = job;
  const { service, digest } = what;
  const key = serviceKey(service.context, service.name);
  const lock = await deps.deploys.lock(key, deps.lockTtlMs);
  if (!lock) {
    log.line(`${key} is being deployed by another job; waiting`);
    await job.moveToDelayed(Date.now() + LOCK_RETRY_MS, token);
    throw new DelayedError();
  }
  const image = `${what.deployment.target}@${digest}`;
  const logUrl = jobUrl(deps.baseUrl, job.id!);
  const entry: DeployEntry = {
    sha: data.sha,
    digest,
    image,
    repo: data.repo,
    branch: data.branch,
    jobId: job.id!,
    result: 'deploying',
    startedAt: Date.now(),
  };
  const [owner, repo] = data.repo.split('/');
  const octokit = deps.github ? await deps.github(data.installationId) : undefined;
  let deploymentId: number | undefined;
  const status = async (state: 'success' | 'failure', description: string) => {
    if (octokit && deploymentId !== undefined)
      await setDeploymentStatus(octokit, { owner, repo }, deploymentId, state, {
        uri: service.uri,
        logUrl,
        description,
      });
    await deps.notify(
      deployMessage({
        commitUrl: commitUrl(data.cloneUrl, data.sha),
        sha: data.sha,
        service: service.name,
        state,
        logUrl,
      }),
    );
  };
  try {
    if (!(await isHead(deps, data))) {
      log.line(
        `${service.name}: ${data.sha.slice(0, 7)} is no longer the head of ${data.branch}: skipped (superseded)`,
      );
      return undefined;
    }
    if (octokit) {
      deploymentId = await startDeployment(
        octokit,
        { owner, repo },
        {
          sha: data.sha,
          environment: service.name,
          uri: service.uri,
          logUrl,
          description: `Deploying ${data.sha.slice(0, 7)} to ${service.name}`,
        },
      );
    }
    // Written before the update: a deployer updating itself is replaced mid-job.
    await deps.deploys.record(key, entry);
    const engine = deps.engine(service.context);
    const composeFile = service.compose ? await deps.readFile(data, service.compose) : undefined;
    const outcome = await targets[service.kind].deploy({
      service,
      image,
      digest,
      auth: await deps.engineAuth(what.deployment.target),
      ...engine,
      composeFile,
      log: (line) => log.line(line),
      convergeTimeoutMs: deps.convergeTimeoutMs,
    });
    await deps.deploys.record(key, {
      ...entry,
      result: outcome.changed ? 'success' : 'unchanged',
      finishedAt: Date.now(),
    });
    await status(
      'success',
      outcome.changed
        ? `Deployed ${data.sha.slice(0, 7)}`
        : `Already running ${data.sha.slice(0, 7)}`,
    );
    return undefined;
  } catch (err) {
    const reason = describeFailure(err);
    log.line(`${service.name}: ${reason}`);
    await deps.deploys.record(key, {
      ...entry,
      result: 'failure',
      finishedAt: Date.now(),
      error: reason,
    });
    await status('failure', reason).catch(() => undefined);
    if (isRetryable(err)) throw err; // the machinery failed: retry the job
    return `${service.name}: ${reason}`;
  } finally {
    await lock.release();
  }
}
