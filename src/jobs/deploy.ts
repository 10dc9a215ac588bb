import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { repoKey, type RepoIndex } from '../config/repo-index.js';
import { unikernelHostSchema, type Arch, type UnikernelHost } from '../config/schema.js';
import type { EngineAuth } from '../exec/docker.js';
import { parseImageRef } from '../exec/image-ref.js';
import type { RegistryClient } from '../exec/registry.js';
import type { SshSettings } from '../exec/ssh.js';
import type { Octokit } from '../github/check-runs.js';
import type { Notify } from '../notify/slack.js';
import {
  deploymentsFor,
  serviceKey,
  unikernelDeploymentsFor,
  type DeployJobData,
} from '../plan/deploy-jobs.js';
import type { CommitStore } from '../store/commit-store.js';
import type { DeployStore, StagedImage } from '../store/deploy-store.js';
import { targets } from '../targets/index.js';
import { DeployError, type DeployContext } from '../targets/target.js';
import { deployUnikernel } from '../targets/unikernel.js';
import { describeFailure, givenUp, isRetryable } from './errors.js';
import type { Gates } from './gates.js';
import { JobLog } from './job-log.js';
import { isHead, upgrade, type UnitOutcome } from './upgrade.js';

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
  /** Unikernels: read from the registry, copied over SSH to the flavour's VM hosts. */
  registry: RegistryClient;
  ssh: SshSettings;
  unikernelHosts: Record<string, UnikernelHost>;
  /** Confirmation gates (`--confirm LEVEL`); absent: nothing waits. */
  gates?: Gates;
  /** Asks for the commit's check run to be written again (it offers Roll back once deployed). */
  requestCheckSync?: (repo: string, sha: string) => Promise<void>;
  /** Told each service deploy's result (metrics). */
  onResult?: (service: string, result: 'success' | 'unchanged' | 'failure') => void;
}

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
    if (!data.rollback && !(await isHead(deps, data))) {
      log.line(
        `${data.sha.slice(0, 7)} is no longer the head of ${data.branch}: not deployed (superseded)`,
      );
      return 'superseded';
    }
    const staged = data.rollback
      ? []
      : await deps.deploys.staged(data.repo, data.sha, data.specKey);
    const wanted = (key: string) => !data.rollback || data.rollback.service === key;
    const outcomes: UnitOutcome[] = [];
    for (const u of unikernelDeploymentsFor(spec.build, data.branch)) {
      const key = `unikernel:${u.host}/${u.service}`;
      if (!wanted(key)) continue;
      const image =
        data.rollback?.image ?? `${staged[0].ref.replace(/:[^:/]+$/, '')}@${staged[0].digest}`;
      outcomes.push(
        await upgrade(deps, job, token, log, {
          key,
          name: u.service,
          image,
          digest: data.rollback?.digest ?? staged[0].digest,
          run: async (line) => {
            await deployUnikernel({
              name: u.service,
              host: u.host,
              hostConfig: deps.unikernelHosts[u.host] ?? unikernelHostSchema.parse({}),
              image: parseImageRef(image),
              registry: deps.registry,
              ssh: deps.ssh,
              log: line,
            });
            return { changed: true };
          },
        }),
      );
    }
    for (const deployment of deploymentsFor(spec.build, data.branch)) {
      const services = deployment.services.filter((s) => wanted(serviceKey(s.context, s.name)));
      if (!services.length) continue;
      let written: { image: string; digest: string };
      try {
        written = data.rollback ?? (await writeTarget(deps, deployment.target, staged, log));
      } catch (err) {
        if (isRetryable(err) && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw err;
        // Given up: each service is told it was not deployed, as a failed deploy would be.
        const why = `cannot write ${deployment.target}: ${(err as Error).message}`;
        const failed = new DeployError(givenUp(why, job.attemptsMade + 1));
        for (const service of services)
          outcomes.push(
            await upgrade(deps, job, token, log, {
              key: serviceKey(service.context, service.name),
              name: service.name,
              uri: service.uri,
              image: deployment.target,
              digest: 'none',
              run: () => Promise.reject(failed),
              failedBefore: true,
            }),
          );
        continue;
      }
      const { image, digest } = written;
      for (const service of services) {
        outcomes.push(
          await upgrade(deps, job, token, log, {
            key: serviceKey(service.context, service.name),
            name: service.name,
            uri: service.uri,
            image,
            digest,
            run: async (line) =>
              targets[service.kind].deploy({
                service,
                image,
                digest,
                auth: await deps.engineAuth(deployment.target),
                ...deps.engine(service.context),
                composeFile: service.compose
                  ? await deps.readFile(data, service.compose)
                  : undefined,
                log: line,
                convergeTimeoutMs: deps.convergeTimeoutMs,
              }),
          }),
        );
      }
    }
    if (data.rollback && !outcomes.length)
      throw new UnrecoverableError(
        `${data.rollback.service} is not deployed from ${data.repo} ${data.branch}`,
      );
    const failures = outcomes.flatMap((o) => (o.failure ? [o.failure] : []));
    if (failures.length) throw new DeployError(failures.join('; '));
    if (data.rollback) return 'rolled back';
    await deps.deploys.setDeployedSha(data.repo, data.specKey, data.branch, data.sha);
    return outcomes.length && outcomes.every((o) => o.pinned) ? 'pinned, not deployed' : 'deployed';
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    log.line(describeFailure(err));
    if (!isRetryable(err)) throw new UnrecoverableError(describeFailure(err));
    throw err;
  } finally {
    await log.flush();
  }
}

/** Writes the manifest list at a deployment's target over the staged per-pool images. */
async function writeTarget(
  deps: DeployDeps,
  target: string,
  staged: StagedImage[],
  log: JobLog,
): Promise<{ image: string; digest: string }> {
  const digest = await deps.manifestList(
    target,
    staged.map((s) => ({
      ref: `${s.ref.replace(/:[^:/]+$/, '')}@${s.digest}`,
      pool: s.pool as Arch,
    })),
  );
  log.line(`Wrote ${target} (${digest}) for ${staged.map((s) => s.pool).join(', ')}`);
  return { image: `${target}@${digest}`, digest };
}
