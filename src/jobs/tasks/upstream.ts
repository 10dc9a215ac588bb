import { createHash } from 'node:crypto';
import type { Upstream } from '../../config/schema.js';
import { upstreamUnits } from '../../plan/deploy-units.js';
import type { ServiceLock } from '../../store/deploy-store.js';
import type { UpstreamStore } from '../../store/upstream-store.js';
import type { DeployDeps } from '../deploy-deps.js';
import { unitUpdate, updateService, type ServiceUpdateDeps } from '../service-update.js';
import { targetEnv, type TargetDeps } from '../target-env.js';

/** What checking an upstream needs: the deploy job's engines, locks, history and Slack, plus the registry. */
export type UpstreamDeps = ServiceUpdateDeps &
  TargetDeps &
  Pick<DeployDeps, 'convergeTimeoutMs' | 'lockTtlMs'> & {
    upstreams: UpstreamStore;
    /** The digest the image's tag points at now (a HEAD of its manifest). */
    digest: (image: string) => Promise<string>;
  };

export interface UpstreamResult {
  /** What the tag points at now. */
  digest: string;
  /** True when the digest had changed and its services were deployed to (see `failures`). */
  deployed: boolean;
  /** `service: reason` for each service that failed; the digest is recorded only when empty. */
  failures: string[];
}

const DAY_MS = 24 * 3600 * 1000;
const LOCK_RETRY_MS = 2_000;

/** A stable id for an upstream's job scheduler and its record: `upstream-<image slug>-<hash>`, no ':'. */
export function upstreamSchedulerId(upstream: Pick<Upstream, 'image'>): string {
  const slug = upstream.image.replace(/[^A-Za-z0-9_.-]+/g, '-');
  const hash = createHash('sha256').update(upstream.image).digest('hex').slice(0, 8);
  return `upstream-${slug}-${hash}`;
}

/** How often to check an upstream, in milliseconds. */
export const everyMs = (upstream: Pick<Upstream, 'everyDays'>): number =>
  Math.round(upstream.everyDays * DAY_MS);

/**
 * Checks one upstream image: when its tag points at a digest other than the one last
 * deployed from it, deploys `image@digest` to each of its services (under each
 * service's lock, with history and Slack, as the deploy job does) and records the
 * digest once every service has it. An unchanged digest deploys nothing. Failures of
 * the machinery (SSH, registry) are thrown, to be retried; failed deploys are returned.
 */
export async function checkUpstream(
  deps: UpstreamDeps,
  upstream: Upstream,
  log: (line: string) => void,
  opts: { jobId?: string } = {},
): Promise<UpstreamResult> {
  const id = upstreamSchedulerId(upstream);
  const digest = await deps.digest(upstream.image);
  const last = await deps.upstreams.deployedDigest(id);
  if (last === digest) {
    log(`${upstream.image} is still ${digest}: nothing to deploy`);
    return { digest, deployed: false, failures: [] };
  }
  log(`${upstream.image} is now ${digest} (last deployed: ${last ?? 'none'})`);
  const jobId = opts.jobId ?? `${id}-${Date.now()}`;
  const run = {
    origin: { kind: 'upstream' as const, image: upstream.image },
    jobId,
    log,
    whenLocked: (key: string) => waitForLock(deps, key, log),
  };
  const env = targetEnv(deps);
  const failures: string[] = [];
  for (const unit of upstreamUnits(upstream, digest)) {
    const outcome = await updateService(deps, run, unitUpdate(unit, unit.image, env));
    if (outcome.failure) failures.push(outcome.failure);
  }
  if (failures.length === 0) await deps.upstreams.setDeployedDigest(id, digest);
  return { digest, deployed: true, failures };
}

/** The service's lock, waiting for a deploy that holds it for about as long as one may take. */
async function waitForLock(
  deps: UpstreamDeps,
  key: string,
  log: (line: string) => void,
): Promise<ServiceLock> {
  log(`${key} is being deployed by another job; waiting`);
  const deadline = Date.now() + deps.convergeTimeoutMs + deps.lockTtlMs;
  for (;;) {
    if (Date.now() > deadline)
      throw new Error(`${key} is still being deployed by another job; try again later`);
    await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    const lock = await deps.deploys.lock(key, deps.lockTtlMs);
    if (lock) return lock;
  }
}

/** One scheduled control task per upstream; a task fails when a service could not be deployed. */
export function upstreamTasks(
  deps: UpstreamDeps,
  upstreams: Upstream[],
  log: { info: (o: object, msg: string) => void },
): Record<string, () => Promise<UpstreamResult>> {
  return Object.fromEntries(
    upstreams.map((u) => [
      upstreamSchedulerId(u),
      async () => {
        const result = await checkUpstream(deps, u, (line) =>
          log.info({ upstream: u.image }, line),
        );
        if (result.failures.length) throw new Error(result.failures.join('; '));
        return result;
      },
    ]),
  );
}
