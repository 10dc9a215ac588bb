import { createHash } from 'node:crypto';
import type { Service, Upstream } from '../config/schema.js';
import { slackLink } from '../notify/slack.js';
import { jobUrl } from '../plan/check-run-output.js';
import { serviceKey } from '../plan/deploy-jobs.js';
import type { DeployEntry, ServiceLock } from '../store/deploy-store.js';
import type { UpstreamStore } from '../store/upstream-store.js';
import { targets } from '../targets/index.js';
import type { DeployDeps } from './deploy.js';
import { describeFailure, isRetryable } from './errors.js';
import { withHistory } from './service-history.js';

/** What checking an upstream needs: the deploy job's engines, locks, history and Slack, plus the registry. */
export type UpstreamDeps = Pick<
  DeployDeps,
  'baseUrl' | 'deploys' | 'engine' | 'engineAuth' | 'notify' | 'convergeTimeoutMs' | 'lockTtlMs'
> & {
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

/** "Deploy <image>@<digest> as <service>: <state>", the deploy message with the image for a commit. */
export function upstreamMessage(m: {
  image: string;
  digest: string;
  service: string;
  state: string;
  logUrl: string;
}): string {
  return `Deploy ${m.image}@${m.digest.slice(0, 19)} as ${m.service}: ${slackLink(m.logUrl, m.state)}`;
}

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
  const failures: string[] = [];
  for (const service of upstream.services) {
    const failure = await deployService(deps, log, { upstream, service, digest, jobId });
    if (failure) failures.push(failure);
  }
  if (failures.length === 0) await deps.upstreams.setDeployedDigest(id, digest);
  return { digest, deployed: true, failures };
}

async function deployService(
  deps: UpstreamDeps,
  log: (line: string) => void,
  what: { upstream: Upstream; service: Service; digest: string; jobId: string },
): Promise<string | undefined> {
  const { upstream, service, digest, jobId } = what;
  const key = serviceKey(service.context, service.name);
  const lock = await acquire(deps, key, log);
  const image = `${upstream.image}@${digest}`;
  const logUrl = jobUrl(deps.baseUrl, jobId);
  // No commit: `sha` is empty and `repo` names the upstream image.
  const entry: DeployEntry = {
    sha: '',
    digest,
    image,
    repo: upstream.image,
    branch: '',
    jobId,
    result: 'deploying',
    startedAt: Date.now(),
  };
  const notify = (state: 'success' | 'failure') =>
    deps.notify(
      upstreamMessage({ image: upstream.image, digest, service: service.name, state, logUrl }),
    );
  try {
    await withHistory(deps.deploys, key, entry, async () =>
      targets[service.kind].deploy({
        service,
        image,
        digest,
        auth: await deps.engineAuth(upstream.image),
        ...deps.engine(service.context),
        log,
        convergeTimeoutMs: deps.convergeTimeoutMs,
      }),
    );
    await notify('success');
    return undefined;
  } catch (err) {
    const reason = describeFailure(err);
    log(`${service.name}: ${reason}`);
    await notify('failure');
    if (isRetryable(err)) throw err;
    return `${service.name}: ${reason}`;
  } finally {
    await lock.release();
  }
}

/** The service's lock, waiting for a deploy that holds it for about as long as one may take. */
async function acquire(
  deps: UpstreamDeps,
  key: string,
  log: (line: string) => void,
): Promise<ServiceLock> {
  const deadline = Date.now() + deps.convergeTimeoutMs + deps.lockTtlMs;
  for (let first = true; ; first = false) {
    const lock = await deps.deploys.lock(key, deps.lockTtlMs);
    if (lock) return lock;
    if (first) log(`${key} is being deployed by another job; waiting`);
    if (Date.now() > deadline)
      throw new Error(`${key} is still being deployed by another job; try again later`);
    await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
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
