import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { repoKey } from '../config/repo-index.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import { DEPLOY_STATES, byDeployment, deploymentNames, endState } from '../plan/deploy-message.js';
import { deployUnits, type PlannedUnit, type UnitImage } from '../plan/deploy-units.js';
import { DeployError } from '../targets/target.js';
import type { DeployDeps } from './deploy-deps.js';
import { deploymentReporter } from './deploy-reports.js';
import { describeFailure, givenUp, isRetryable } from './errors.js';
import { JobLog } from './job-log.js';
import {
  isHead,
  unitUpdate,
  updateService,
  type UnitOutcome,
  type UpdateRun,
} from './service-update.js';
import { targetEnv } from './target-env.js';

const LOCK_RETRY_MS = 2_000;

/**
 * The deploy job: walks the units planned for the branch (or the rollback), writing
 * each deployment's manifest list once, and updates each unit under its lock. A
 * commit that is no longer the branch head is not deployed; a service already
 * running the image is left alone. A push's deployments each have their Slack
 * message brought along: pushing, waiting for confirmation, deploying, its end.
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
  const names = deploymentNames(spec.build, data.branch);
  const report = deploymentReporter(
    data.rollback ? undefined : deps.messages,
    data,
    job.id!,
    names,
  );
  const ended = new Set<string>();
  try {
    const stale = data.rollback ? undefined : await notHeadAnyMore(deps, data);
    if (stale) {
      log.line(stale);
      await report(DEPLOY_STATES.superseded);
      return 'superseded';
    }
    const staged = data.rollback
      ? []
      : await deps.deploys.staged(data.repo, data.sha, data.specKey);
    const units = deployUnits(spec.build, data.branch, data.rollback, staged);
    if (data.rollback && !units.length)
      throw new UnrecoverableError(
        `${data.rollback.service} is not deployed from ${data.repo} ${data.branch}`,
      );
    let current: string[] = [];
    const run = updateRun(deps, job, token, log, (passed) =>
      report(passed ? DEPLOY_STATES.deploying : DEPLOY_STATES.waitingForConfirmation, current),
    );
    const env = targetEnv(deps, (path) => deps.readFile(data, path));
    const images = imageWriter(deps, job, log);
    const outcomes: UnitOutcome[] = [];
    for (const [name, group] of byDeployment(units)) {
      current = [name];
      if (group[0].image.kind === 'manifest-list') await report(DEPLOY_STATES.pushing, current);
      const own: UnitOutcome[] = [];
      for (const unit of group) {
        const image = await images(unit.image);
        own.push(
          await updateService(
            deps,
            run,
            'failed' in image ? failedBefore(unit, image.failed) : unitUpdate(unit, image, env),
          ),
        );
      }
      await report(endState(own), current);
      ended.add(name);
      outcomes.push(...own);
    }
    const failures = outcomes.flatMap((o) => (o.failure ? [o.failure] : []));
    if (failures.length) throw new DeployError(failures.join('; '));
    if (data.rollback) return 'rolled back';
    await deps.deploys.setDeployedSha(data.repo, data.specKey, data.branch, data.sha);
    return outcomes.length && outcomes.every((o) => o.pinned) ? 'pinned, not deployed' : 'deployed';
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    log.line(describeFailure(err));
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!isRetryable(err) || lastAttempt)
      await report(
        DEPLOY_STATES.failed(describeFailure(err)),
        names.filter((n) => !ended.has(n)),
      );
    if (!isRetryable(err)) throw new UnrecoverableError(describeFailure(err));
    throw err;
  } finally {
    await log.flush();
  }
}

/**
 * How this job's updates wait: for another job's lock (back to the queue), and
 * for an admin's confirmation, told whether it passed or is waited for.
 */
function updateRun(
  deps: DeployDeps,
  job: Job<DeployJobData>,
  token: string | undefined,
  log: JobLog,
  onGate: (passed: boolean) => Promise<void>,
): UpdateRun {
  return {
    origin: { kind: 'commit', data: job.data },
    jobId: job.id!,
    log: (line) => log.line(line),
    whenLocked: async (key) => {
      log.line(`${key} is being deployed by another job; waiting`);
      await job.moveToDelayed(Date.now() + LOCK_RETRY_MS, token);
      throw new DelayedError();
    },
    confirm: async (what) => {
      try {
        await deps.gates?.pass(job, token, 'deploy', what);
      } catch (err) {
        if (err instanceof DelayedError) await onGate(false);
        throw err;
      }
      await onGate(true);
    },
  };
}

/** Why a push is not deployed: its commit is no longer the branch's head, here or in the repository. */
async function notHeadAnyMore(deps: DeployDeps, data: DeployJobData) {
  const short = data.sha.slice(0, 7);
  if (!(await isHead(deps, data)))
    return `${short} is no longer the head of ${data.branch}: not deployed (superseded)`;
  if (!deps.branchHead) return undefined;
  const head = await deps.branchHead(data);
  if (head === data.sha) return undefined;
  const now = head ? `it is at ${head.slice(0, 7)}` : 'it is gone';
  return `${short} is not the head of ${data.branch} in ${data.repo} (${now}): not deployed`;
}

type ResolvedImage = { image: string; digest: string } | { failed: DeployError };

/**
 * Gives each unit its image, writing a deployment's manifest list once for all its
 * services. A write that fails while attempts remain fails the job (to be retried);
 * once given up, each of its services is told it was not deployed.
 */
function imageWriter(deps: DeployDeps, job: Job<DeployJobData>, log: JobLog) {
  const written = new Map<string, ResolvedImage>();
  return async (image: UnitImage): Promise<ResolvedImage> => {
    if (image.kind === 'ready') return image;
    const known = written.get(image.target);
    if (known) return known;
    let resolved: ResolvedImage;
    try {
      const digest = await deps.manifestList(image.target, image.images);
      log.line(
        `Wrote ${image.target} (${digest}) for ${image.images.map((i) => i.pool).join(', ')}`,
      );
      resolved = { image: `${image.target}@${digest}`, digest };
    } catch (err) {
      if (isRetryable(err) && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw err;
      const why = `cannot write ${image.target}: ${(err as Error).message}`;
      resolved = { failed: new DeployError(givenUp(why, job.attemptsMade + 1)) };
    }
    written.set(image.target, resolved);
    return resolved;
  };
}

/** A unit whose image could not be written: its update fails without starting. */
function failedBefore(unit: PlannedUnit, failed: DeployError) {
  const target = unit.image.kind === 'manifest-list' ? unit.image.target : unit.image.image;
  return {
    key: unit.key,
    name: unit.name,
    uri: unit.uri,
    image: target,
    digest: 'none',
    run: () => Promise.reject(failed),
    failedBefore: true,
  };
}
