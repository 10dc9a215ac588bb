import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { repoKey, type BuildSpec, type RepoIndex } from '../config/repo-index.js';
import type { ArgSource } from '../config/schema.js';
import { packContext } from '../exec/build-context.js';
import { buildImage, type Docker } from '../exec/docker.js';
import { CancelledError } from '../exec/errors.js';
import { fetchCommit } from '../exec/git.js';
import type { BuildJobData } from '../plan/build-jobs.js';
import { platformOf } from '../plan/deploy-jobs.js';
import { formatDuration, type BuildRecord } from '../plan/check-run-output.js';
import type { ArgStore } from '../store/arg-store.js';
import { recordField, type CommitStore } from '../store/commit-store.js';
import { argSourcesOf } from './arg-sources.js';
import { cancelReason, describeFailure, givenUp, isRetryable } from './errors.js';
import type { Gates } from './gates.js';
import { JobLog } from './job-log.js';
import { stageImage, type StageDeps } from './stage.js';
import type { Queues } from './queues.js';

export interface BuildDeps {
  index: RepoIndex;
  store: CommitStore;
  queues: Queues;
  docker: Docker;
  workDir: string;
  /** A token that can read the repository; undefined for public repos in local mode. */
  repoToken: (installationId: number) => Promise<string | undefined>;
  /** Confirmation gates (`--confirm LEVEL`); absent: nothing waits. */
  gates?: Gates;
  /** A build taking longer fails (riscv64 builds get twice as long); default one hour. */
  buildTimeoutMs?: number;
  /** Pushing to the staging repository; absent on workers that only check builds. */
  stage?: StageDeps;
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

/** The build job: fetch the commit, build it on the local engine, record the outcome. */
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
  await deps.queues.requestCheckSync(data.repo, data.sha);

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
    await deps.queues.requestCheckSync(data.repo, data.sha);
  };

  // A build that hangs (an engine that stops answering) fails instead of holding the pool.
  const timeoutMs = (deps.buildTimeoutMs ?? 3_600_000) * (data.pool === 'linux-riscv64' ? 2 : 1);
  const deadline = AbortSignal.timeout(timeoutMs);
  const limited = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    log.line(`Fetching ${data.repo} at ${data.sha} (${data.ref})`);
    await fetchCommit({
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
    const result = await buildImage(deps.docker, {
      context: packContext(dir, { includeGit: inputs.includeGit }),
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
      await stageImage(deps.stage, spec, data, tag, (line) => log.line(line), limited);
    }
    await finish({ status: 'success' });
    return result;
  } catch (err) {
    if (err instanceof DelayedError) throw err; // waiting for a confirmation
    if (deadline.aborted && !signal?.aborted) {
      const reason = `Build failed: timed out after ${formatDuration(timeoutMs)}`;
      log.line(reason);
      await finish({ status: 'failure', error: reason });
      throw new UnrecoverableError(reason);
    }
    const reason = describeFailure(err, signal);
    log.line(reason);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (err instanceof CancelledError || signal?.aborted) {
      await finish({ status: 'cancelled', error: cancelReason(err, signal) });
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
    throw new UnrecoverableError(final);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
