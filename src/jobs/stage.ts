import type { BuildSpec } from '../config/repo-index.js';
import { pushImage, type EngineAuth } from '../exec/docker/images.js';
import type { Docker } from '../exec/docker/client.js';
import { EngineError } from '../exec/errors.js';
import type { BuildJobData } from '../plan/build-jobs.js';
import { branchOf } from '../plan/commit-event.js';
import {
  deployJobId,
  deploymentsFor,
  deploysFrom,
  stagingRef,
  unikernelStagingRef,
  type DeployJobData,
} from '../plan/deploy-jobs.js';
import type { DeployMessages } from '../notify/deploy-messages.js';
import type { DeployStore } from '../store/deploy-store.js';
import type { Queues } from './queues.js';

export interface StageDeps {
  docker: Docker;
  deploys: DeployStore;
  queues: Queues;
  stagingRepo: string;
  engineAuth: (image: string) => Promise<EngineAuth | undefined>;
  /** Each deployment's Slack message: its build is where it starts. */
  messages?: DeployMessages;
  /**
   * The error for a push the registry refused (401: no or wrong credentials, 403: no
   * access), saying which credentials to provide; final, as a retry cannot help.
   */
  refused?: (image: string, status: 401 | 403) => Promise<Error>;
}

/** The engine reports a registry's refusal only as words in the push's progress stream. */
function refusal(err: unknown): 401 | 403 | undefined {
  if (!(err instanceof EngineError)) return undefined;
  if (/\b(denied|forbidden)\b/i.test(err.message)) return 403;
  if (/no basic auth credentials|unauthorized|authentication required/i.test(err.message))
    return 401;
  return undefined;
}

/**
 * After a build on a deployment branch: push the pool's image to the staging
 * repository, and once every pool of the spec is staged, enqueue the deploy.
 */
export async function stageImage(
  deps: StageDeps,
  spec: BuildSpec,
  data: BuildJobData,
  localTag: string,
  log: (line: string) => void,
  /** Ends a push that takes too long (the job's time limit) or is cancelled. */
  signal?: AbortSignal,
): Promise<void> {
  const branch = branchOf(data.ref);
  if (!branch || !deploysFrom(spec.build, branch)) return;
  const build = spec.build;
  const refs =
    build.kind === 'docker'
      ? deploymentsFor(build, branch).map((d) => stagingRef(deps.stagingRepo, d.target, data.pool))
      : [unikernelStagingRef(deps.stagingRepo, build.target)];
  let staged: { ref: string; digest: string } | undefined;
  for (const ref of refs) {
    const [repository, tag] = [
      ref.slice(0, ref.lastIndexOf(':')),
      ref.slice(ref.lastIndexOf(':') + 1),
    ];
    log(`Pushing ${ref}`);
    let digest: string;
    try {
      digest = await pushImage(
        deps.docker,
        localTag,
        { repository, tag },
        await deps.engineAuth(ref),
        log,
        signal,
      );
    } catch (err) {
      const status = refusal(err);
      if (status && deps.refused) throw await deps.refused(ref, status);
      // The engine's words name neither the image nor the registry ("received unexpected HTTP status: 500").
      if (err instanceof EngineError) throw new EngineError(`cannot push ${ref}: ${err.message}`);
      throw err;
    }
    log(`Pushed ${ref} (${digest})`);
    staged ??= { ref, digest };
  }
  if (!staged) return;
  await deps.deploys.stage(data.repo, data.sha, spec.key, { pool: data.pool, ...staged });
  const pools = new Set(
    (await deps.deploys.staged(data.repo, data.sha, spec.key)).map((s) => s.pool),
  );
  const archs = build.kind === 'docker' ? build.archs : ['linux-x86_64'];
  if (!archs.every((a) => pools.has(a))) return;
  const deploy: DeployJobData = {
    repo: data.repo,
    specKey: spec.key,
    branch,
    sha: data.sha,
    cloneUrl: data.cloneUrl,
    installationId: data.installationId,
  };
  await deps.queues.deploy.add('deploy', deploy, {
    jobId: deployJobId(spec.key, data.sha, branch),
  });
  log(`Every pool is staged: deploy of ${data.sha.slice(0, 7)} to ${branch} enqueued`);
}
