import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { repoKey, type BuildSpec, type RepoIndex } from '../config/repo-index.js';
import type { ArgSource } from '../config/schema.js';
import type { Docker } from '../exec/docker/client.js';
import { CancelledError } from '../exec/errors.js';
import type { BuildJobData } from '../plan/build-jobs.js';
import { platformOf } from '../plan/deploy-jobs.js';
import { branchOf } from '../plan/commit-event.js';
import { DEPLOY_STATES, deploymentNames } from '../plan/deploy-message.js';
import { formatDuration, type BuildRecord } from '../plan/check-run-output.js';
import type { ArgStore } from '../store/arg-store.js';
import type { BuildSlots } from '../store/build-slots.js';
import type { UntrustedBuildNetwork } from '../exec/untrusted-build.js';
import { recordField, type CommitStore } from '../store/commit-store.js';
import { argSourcesOf } from './tasks/arg-sources.js';
import { cancelReason, describeFailure, givenUp, isRetryable } from './errors.js';
import type { Gates } from '../store/gates.js';
import { JobLog } from './job-log.js';
import { deploymentReporter } from './deploy-reports.js';
import type { BuildSteps } from './build-steps.js';
import type { StageDeps } from './stage.js';
import type { Queues } from './queues.js';

export interface BuildDeps {
  index: RepoIndex;
  store: CommitStore;
  queues: Queues;
  docker: Docker;
  /** Fetching, packing, building and staging (`buildSteps` for the real ones). */
  steps: BuildSteps;
  workDir: string;
  /** A token that can read the repository; undefined for public repos in local mode. */
  repoToken: (installationId: number) => Promise<string | undefined>;
  /** Confirmation gates (`--confirm LEVEL`); absent: nothing waits. */
  gates?: Gates;
  /** A build taking longer fails (twice as long for builds that include riscv64); default 50 minutes. */
  buildTimeoutMs?: number;
  /** Pushing to the staging repository; absent on workers that only check builds. */
  stage?: StageDeps;
  /** Builds of forks' pull requests run at most `perRepo` at once per repository. */
  forkSlots?: { slots: BuildSlots; perRepo: number };
  /** The network of untrusted builds' RUN steps (DEPLOYER_UNTRUSTED_BUILD_NETWORK). */
  untrustedNetwork?: UntrustedBuildNetwork;
  /** Build arguments taken from elsewhere (`argsFrom`): the values last seen, and how to read them. */
  args?: {
    store: ArgStore;
    resolve: (sources: readonly ArgSource[]) => Promise<Record<string, string>>;
  };
}

export const imageTag = (spec: BuildSpec, data: BuildJobData): string =>
  `deployer-build/${spec.key}:${data.sha.slice(0, 12)}-${data.pool}`;

function buildInputs(spec: BuildSpec) {
  const b = spec.build;
  const args = b.kind === 'docker' ? b.options.buildArgs : [`TARGET=${b.target}`, ...b.args];
  const buildArgs = Object.fromEntries(
    args.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
  );
  const ulimits = (b.kind === 'docker' ? b.options.ulimits : []).map((u) => {
    const [name, limits] = u.split('=');
    const [soft, hard = soft] = limits.split(':');
    return { Name: name, Soft: Number(soft), Hard: Number(hard) };
  });
  return {
    dockerfile: b.dockerfile,
    buildArgs,
    ulimits,
    target: b.kind === 'docker' ? b.options.target : null,
    includeGit: b.kind === 'docker' && b.options.includeGit,
  };
}

/** The values of the spec's `argsFrom`, as last stored; read and stored now when there are none yet. */
async function argsFromElsewhere(
  deps: BuildDeps,
  spec: BuildSpec,
  log: JobLog,
): Promise<Record<string, string>> {
  const sources = argSourcesOf(spec);
  if (!sources.length) return {};
  if (!deps.args) {
    log.line(
      `Build arguments left unset (this worker cannot read them): ${sources.map((s) => s.arg).join(', ')}`,
    );
    return {};
  }
  const stored = await deps.args.store.values(spec.key);
  if (sources.every((s) => s.arg in stored)) return stored;
  const values = await deps.args.resolve(sources);
  await deps.args.store.setValues(spec.key, values);
  return values;
}

/** The build job: waits for its gate and (untrusted) its repository's slot, then runs the build. */
export async function processBuild(
  deps: BuildDeps,
  job: Job<BuildJobData>,
  signal?: AbortSignal,
  token?: string,
): Promise<{ imageId: string }> {
  const data = job.data;
  const entry = deps.index.get(repoKey(...(data.repo.split('/') as [string, string])));
  const spec = entry?.specs.find((s) => s.key === data.specKey);
  if (!entry || !spec)
    throw new UnrecoverableError(`${data.repo} no longer has build ${data.specKey}`);

  const what = `${spec.label} of ${data.repo} at ${data.sha.slice(0, 7)} for ${data.pool}`;
  await deps.gates?.pass(job, token, 'build', `build ${what}`);

  // A build that hangs (an engine that stops answering) fails instead of holding the pool.
  const timeoutMs = buildTimeLimit(deps.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS, spec);
  const slot = data.fork && deps.forkSlots;
  if (
    slot &&
    !(await slot.slots.take(data.repo, job.id!, slot.perRepo, timeoutMs + SLOT_SLACK_MS))
  ) {
    // The repository's untrusted builds are all running: this one waits its turn.
    await job.moveToDelayed(Date.now() + SLOT_RECHECK_MS, token);
    throw new DelayedError();
  }
  try {
    return await runBuild(deps, job, { spec, what, timeoutMs }, signal, token);
  } finally {
    if (slot) await slot.slots.give(data.repo, job.id!);
  }
}

const DEFAULT_BUILD_TIMEOUT_MS = 50 * 60_000;

/**
 * A build's time limit, as the original sets it: doubled for every pool of a build
 * whose pools include riscv64 (slow machines), not only for the riscv64 one.
 */
export function buildTimeLimit(baseMs: number, spec: BuildSpec): number {
  const pools = spec.build.kind === 'docker' ? spec.build.archs : [];
  return pools.includes('linux-riscv64') ? baseMs * 2 : baseMs;
}

const SLOT_RECHECK_MS = 2_000;
// A slot outlives its build's time limit a little, so a killed worker's slot frees itself.
const SLOT_SLACK_MS = 60_000;

/** Fetches the commit, builds it on the local engine, stages it if asked, and records the outcome. */
async function runBuild(
  deps: BuildDeps,
  job: Job<BuildJobData>,
  { spec, what, timeoutMs }: { spec: BuildSpec; what: string; timeoutMs: number },
  signal?: AbortSignal,
  token?: string,
): Promise<{ imageId: string }> {
  const data = job.data;
  const field = recordField(spec.key, data.pool);
  const before = await deps.store.record(data.repo, data.sha, field);
  if (before?.status === 'cancelled')
    throw new UnrecoverableError(`cancelled: ${before.error ?? ''}`);
  const record: BuildRecord = {
    specKey: spec.key,
    label: spec.label,
    pool: data.pool,
    jobId: job.id!,
    queuedAt: before?.queuedAt ?? job.timestamp,
    status: 'running',
    startedAt: Date.now(),
  };
  await deps.store.putRecord(data.repo, data.sha, record);
  // A build that will be staged starts its deployments' Slack messages.
  const branch = data.stage && deps.stage ? branchOf(data.ref) : undefined;
  const names = branch ? deploymentNames(spec.build, branch) : [];
  const announce = deploymentReporter(deps.stage?.messages, data, job.id!, names);
  await announce(DEPLOY_STATES.building);

  const log = new JobLog(job);
  const dir = join(deps.workDir, `${job.id}-${job.attemptsMade}`);
  const inputs = buildInputs(spec);
  const finish = async (patch: Partial<BuildRecord>) => {
    await log.flush();
    await deps.store.putRecord(data.repo, data.sha, {
      ...record,
      ...patch,
      finishedAt: Date.now(),
      logTail: log.lastLines(),
    });
  };

  const deadline = AbortSignal.timeout(timeoutMs);
  const limited = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    log.line(`Fetching ${data.repo} at ${data.sha} (${data.ref})`);
    await deps.steps.fetchCommit({
      cloneUrl: data.cloneUrl,
      sha: data.sha,
      ref: data.ref,
      dir,
      token: await deps.repoToken(data.installationId),
      signal: limited,
    });
    const fromElsewhere = await argsFromElsewhere(deps, spec, log);
    for (const [arg, value] of Object.entries(fromElsewhere)) log.line(`Using ${arg}=${value}`);
    log.line(`Building ${inputs.dockerfile} for ${platformOf(data.pool)}`);
    // Only a build that will be staged is trusted: forks and PRs get isolated builds.
    const untrusted = !data.stage;
    const result = await deps.steps.buildImage(deps.docker, {
      context: await deps.steps.packContext(dir, {
        includeGit: inputs.includeGit,
        dockerfile: inputs.dockerfile,
        untrusted,
      }),
      untrusted,
      untrustedNetwork: deps.untrustedNetwork,
      dockerfile: inputs.dockerfile,
      buildArgs: { ...inputs.buildArgs, ...fromElsewhere },
      target: inputs.target,
      platform: platformOf(data.pool),
      ulimits: inputs.ulimits,
      tag: imageTag(spec, data),
      signal: limited,
      onLine: (line) => log.line(line),
    });
    log.line(`Built ${result.imageId}`);
    if (data.stage && deps.stage) {
      await deps.gates?.pass(job, token, 'push', `push ${what} to ${deps.stage.stagingRepo}`);
      const tag = imageTag(spec, data);
      await deps.steps.stageImage(deps.stage, spec, data, tag, (line) => log.line(line), limited);
    }
    await finish({ status: 'success' });
    return result;
  } catch (err) {
    if (err instanceof DelayedError) throw err; // waiting for a confirmation
    if (deadline.aborted && !signal?.aborted) {
      const reason = `Build failed: timed out after ${formatDuration(timeoutMs)}`;
      log.line(reason);
      await finish({ status: 'failure', error: reason });
      await announce(DEPLOY_STATES.buildFailed(reason));
      throw new UnrecoverableError(reason);
    }
    const reason = describeFailure(err, signal);
    log.line(reason);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (err instanceof CancelledError || signal?.aborted) {
      await finish({ status: 'cancelled', error: cancelReason(err, signal) });
      await announce(DEPLOY_STATES.buildCancelled(cancelReason(err, signal)));
      throw new UnrecoverableError(reason);
    }
    if (isRetryable(err) && !lastAttempt) {
      // Back in the queue: the record says so, and the retry starts a fresh log section.
      await log.flush();
      await deps.store.putRecord(data.repo, data.sha, {
        ...record,
        status: 'queued',
        error: reason,
      });
      throw err;
    }
    const final = givenUp(reason, job.attemptsMade + 1);
    await finish({ status: 'failure', error: final });
    await announce(DEPLOY_STATES.buildFailed(final));
    throw new UnrecoverableError(final);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
