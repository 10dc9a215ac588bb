import type { Octokit } from '../github/check-runs.js';
import { setDeploymentStatus, startDeployment } from '../github/deployments.js';
import { jobUrl } from '../plan/check-run-output.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import type { UnitDeployState } from '../plan/deploy-state.js';
import type { PlannedUnit } from '../plan/deploy-units.js';
import type { DeployEntry, ServiceLock } from '../store/deploy-store.js';
import { targets } from '../targets/index.js';
import type { TargetEnv } from '../targets/target.js';
import type { DeployDeps } from './deploy-deps.js';
import { describeFailure, isRetryable } from './errors.js';
import {
  confirmText,
  endMessage,
  followsBranch,
  startedEntry,
  type UpdateOrigin,
} from './update-origin.js';

export type ServiceUpdateDeps = Pick<
  DeployDeps,
  'baseUrl' | 'store' | 'deploys' | 'github' | 'messages' | 'lockTtlMs' | 'onResult'
>;

/** One job's updates: where they come from, and how it waits. */
export interface UpdateRun {
  origin: UpdateOrigin;
  jobId: string;
  log: (line: string) => void;
  /**
   * Another job holds the unit's lock: gives the lock once it is free, or throws
   * (a queued job goes back to the queue with a DelayedError).
   */
  whenLocked: (key: string) => Promise<ServiceLock>;
  /** The confirmation gate (`--confirm LEVEL`); absent: nothing waits. */
  confirm?: (what: string) => Promise<void>;
}

/** One unit to update, and how. */
export interface UnitUpdate {
  /** Lock, history and pin key, unique per engine or host. */
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

/** How one unit went: a failure message, kept back by an admin's pin, or skipped for a newer head. */
export interface UnitOutcome {
  failure?: string;
  pinned?: boolean;
  superseded?: boolean;
}

export async function isHead(
  deps: Pick<DeployDeps, 'store'>,
  data: Pick<DeployJobData, 'repo' | 'branch' | 'sha'>,
): Promise<boolean> {
  return (await deps.store.heads(data.repo))[`refs/heads/${data.branch}`] === data.sha;
}

/** A planned unit, given its image, updated by its kind's target. */
export function unitUpdate(
  unit: PlannedUnit,
  image: { image: string; digest: string },
  env: TargetEnv,
): UnitUpdate {
  return {
    key: unit.key,
    name: unit.name,
    uri: unit.uri,
    ...image,
    run: (log) => targets[unit.place.kind].deploy({ place: unit.place, ...image, log, env }),
  };
}

/** Tells the commit's check run where its deploy of the unit stands. */
async function note(
  deps: ServiceUpdateDeps,
  origin: UpdateOrigin,
  key: string,
  state: UnitDeployState,
): Promise<void> {
  if (origin.kind === 'commit')
    await deps.store.noteDeploy(origin.data.repo, origin.data.sha, key, state);
}

/** A pinned unit is left alone by pushes (a rollback is what pins it); true when it is. */
async function keptByPin(deps: ServiceUpdateDeps, run: UpdateRun, unit: UnitUpdate) {
  if (!followsBranch(run.origin)) return false;
  const pin = await deps.deploys.pin(unit.key);
  if (!pin) return false;
  const { sha } = run.origin.data;
  run.log(
    `${unit.name}: pinned to ${pin.sha.slice(0, 7)} by ${pin.by}: ${sha.slice(0, 7)} not deployed (an admin unpins it in the web UI)`,
  );
  await deps.deploys.noteSkipped(unit.key, sha);
  await note(deps, run.origin, unit.key, {
    name: unit.name,
    state: 'pinned',
    by: pin.by,
    pinnedSha: pin.sha,
  });
  return true;
}

/**
 * The one way a unit is updated, whatever asked for it: a pin holds a push back,
 * an admin confirms, the unit's lock is taken, a push no longer at its branch's
 * head is skipped, then the update runs with a GitHub Deployment and its history
 * entry (written first: a deployer updating itself is replaced mid-job). A push's
 * Slack message is its deployment's (the deploy job's); a rollback or an upstream
 * image gets one message per unit. Machinery failures are thrown, to be retried;
 * failed updates are returned.
 */
export async function updateService(
  deps: ServiceUpdateDeps,
  run: UpdateRun,
  unit: UnitUpdate,
): Promise<UnitOutcome> {
  if (await keptByPin(deps, run, unit)) return { pinned: true };
  if (!unit.failedBefore) await run.confirm?.(confirmText(run.origin, unit));
  const lock =
    (await deps.deploys.lock(unit.key, deps.lockTtlMs)) ?? (await run.whenLocked(unit.key));
  try {
    const { origin } = run;
    const logUrl = jobUrl(deps.baseUrl, run.jobId);
    const deployment =
      origin.kind === 'commit' && deps.github
        ? gitHubDeployment(await deps.github(origin.data.installationId), origin.data, unit, logUrl)
        : undefined;
    return await updateLocked(deps, run, unit, { logUrl, deployment });
  } finally {
    await lock.release();
  }
}

async function updateLocked(
  deps: ServiceUpdateDeps,
  run: UpdateRun,
  unit: UnitUpdate,
  { logUrl, deployment }: { logUrl: string; deployment?: GitHubDeployment },
): Promise<UnitOutcome> {
  const { origin, log } = run;
  const entry = startedEntry(origin, run.jobId, unit);
  const finished = async (state: 'success' | 'failure', description: string) => {
    await deployment?.finish(state, description);
    if (!followsBranch(origin)) await deps.messages.post(endMessage(origin, unit, state, logUrl));
  };
  try {
    if (await keptByPin(deps, run, unit)) return { pinned: true }; // pinned while we waited
    if (followsBranch(origin) && !(await isHead(deps, origin.data))) {
      const { sha, branch } = origin.data;
      log(
        `${unit.name}: ${sha.slice(0, 7)} is no longer the head of ${branch}: skipped (superseded)`,
      );
      await note(deps, origin, unit.key, { name: unit.name, state: 'superseded' });
      return { superseded: true };
    }
    await note(deps, origin, unit.key, { name: unit.name, state: 'deploying' });
    if (deployment) entry.deploymentId = await deployment.start(deps, run.jobId);
    const result = await withHistory(deps, unit.key, entry, () => unit.run(log));
    deps.onResult?.(unit.name, result);
    const short = entry.sha.slice(0, 7);
    await finished(
      'success',
      result === 'success' ? `Deployed ${short}` : `Already running ${short}`,
    );
    await note(deps, origin, unit.key, { name: unit.name, state: 'deployed', digest: unit.digest });
    return {};
  } catch (err) {
    const reason = describeFailure(err);
    log(`${unit.name}: ${reason}`);
    await note(deps, origin, unit.key, { name: unit.name, state: 'failed', reason }).catch(
      () => undefined,
    );
    deps.onResult?.(unit.name, 'failure');
    await finished('failure', reason).catch(() => undefined);
    if (isRetryable(err)) throw err; // the machinery failed: retry the job
    return { failure: `${unit.name}: ${reason}` };
  }
}

/**
 * Runs one update with its history entry: written before the update, then how it
 * ended. A failure is recorded and thrown again.
 */
async function withHistory(
  deps: Pick<DeployDeps, 'deploys'>,
  key: string,
  entry: DeployEntry,
  update: () => Promise<{ changed: boolean }>,
): Promise<'success' | 'unchanged'> {
  await deps.deploys.record(key, entry);
  try {
    const result = (await update()).changed ? 'success' : 'unchanged';
    await deps.deploys.record(key, { ...entry, result, finishedAt: Date.now() });
    return result;
  } catch (err) {
    const error = describeFailure(err);
    await deps.deploys.record(key, { ...entry, result: 'failure', finishedAt: Date.now(), error });
    throw err;
  }
}

type GitHubDeployment = ReturnType<typeof gitHubDeployment>;

/** A commit's update as a GitHub Deployment of the unit's environment. */
function gitHubDeployment(octokit: Octokit, data: DeployJobData, unit: UnitUpdate, logUrl: string) {
  const [owner, repo] = data.repo.split('/');
  let id: number | undefined;
  return {
    async start(deps: Pick<DeployDeps, 'deploys'>, jobId: string): Promise<number> {
      await closeInterrupted(deps, octokit, { owner, repo }, jobId, unit, logUrl);
      id = await startDeployment(
        octokit,
        { owner, repo },
        {
          sha: data.sha,
          environment: unit.name,
          uri: unit.uri,
          logUrl,
          description: `Deploying ${data.sha.slice(0, 7)} to ${unit.name}`,
        },
      );
      return id;
    },
    async finish(state: 'success' | 'failure', description: string): Promise<void> {
      if (id !== undefined)
        await setDeploymentStatus(octokit, { owner, repo }, id, state, {
          uri: unit.uri,
          logUrl,
          description,
        });
    },
  };
}

/**
 * An earlier attempt of this job that was stopped mid-update (its worker killed) left
 * its GitHub Deployment in progress: it is marked `error` before the retry starts its own.
 */
async function closeInterrupted(
  deps: Pick<DeployDeps, 'deploys'>,
  octokit: Octokit,
  repo: { owner: string; repo: string },
  jobId: string,
  unit: UnitUpdate,
  logUrl: string,
): Promise<void> {
  const [latest] = await deps.deploys.history(unit.key);
  if (latest?.jobId !== jobId || latest.result !== 'deploying' || !latest.deploymentId) return;
  await setDeploymentStatus(octokit, repo, latest.deploymentId, 'error', {
    uri: unit.uri,
    logUrl,
    description: 'Interrupted (its worker stopped); the job was retried',
  });
}
