// Push-to-live overhead: from a push webhook to the Swarm service converged on the
// new image, through the whole deployer (receiver + worker on the real Redis, engine
// and registry), against the same build, push and service update done directly with
// the docker CLI. Rounds of the two alternate, so a drift in the machine's speed
// (it is shared) hits both alike; the figures are medians and their ratio.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoKey } from '../src/config/repo-index.js';
import { packContext } from '../src/exec/build-context.js';
import { buildImage } from '../src/exec/docker/build.js';
import { inspectService, serviceTasks } from '../src/exec/docker/services.js';
import { localDocker, type Docker } from '../src/exec/docker/client.js';
import { pushImage } from '../src/exec/docker/images.js';
import { fetchCommit } from '../src/exec/git.js';
import { convergence } from '../src/targets/convergence.js';
import { GitServer } from '../test/helpers/git-server.js';
import { startHarness, uniqueName, type Harness } from '../test/helpers/harness.js';
import { pushPayload } from '../test/helpers/payloads.js';
import { busybox, pushInitialImage, REGISTRY, testDeploySettings } from '../test/helpers/swarm.js';
import { deleteKeys } from '../test/helpers/redis-keys.js';

const run = promisify(execFile);
const POOL = 'linux-x86_64';
/** Both paths build this: two COPY steps, no RUN (the two paths use different builders). */
const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
COPY version.txt /version.txt
CMD ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do /bin/busybox sleep 1 & wait $!; done"]
`;
/** Swarm waits this long after the last task started before it calls an update completed. */
const UPDATE_MONITOR = '1s';

export interface DeployerPhases {
  /** Webhook sent → build job added (the receiver, and intake). */
  intakeMs: number;
  /** Build job added → taken by the worker (the coalescing delay, then the queue). */
  buildWaitMs: number;
  /** Build job taken → deploy job added: fetch, build, push to staging. */
  buildMs: number;
  /** Deploy job added → taken. */
  deployWaitMs: number;
  /** Deploy job run: manifest list at the target, pull, service update, until the deployer saw it converge. */
  deployMs: number;
  /** Webhook sent → the service seen converged from outside (the figure compared). */
  totalMs: number;
  /** Webhook sent → the deploy job done (the deployer polls the service once a second). */
  deployDoneMs: number;
}

export interface DirectPhases {
  buildMs: number;
  pushMs: number;
  /** `docker service update --detach`, then until the service is seen converged. */
  updateMs: number;
  totalMs: number;
}

/** The worker's build steps timed one by one, outside any job (same calls, same inputs). */
export interface BuildSteps {
  /** `fetchCommit`: git init, fetch of the sha over HTTP, checkout. */
  fetchMs: number;
  /** `buildImage`: the context streamed to the engine, BuildKit (API version 2). */
  buildkitMs: number;
  /** `pushImage`: tag and push through the engine. */
  pushMs: number;
}

export interface PushToLiveFigures {
  rounds: number;
  deployer: DeployerPhases[];
  direct: DirectPhases[];
  deployerMedianMs: number;
  directMedianMs: number;
  overheadMs: number;
  ratio: number;
  median: { deployer: DeployerPhases; direct: DirectPhases; steps: BuildSteps };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function medianOf<T extends object>(rows: T[]): T {
  const keys = Object.keys(rows[0]) as (keyof T)[];
  return Object.fromEntries(keys.map((k) => [k, median(rows.map((r) => r[k] as number))])) as T;
}

/**
 * Polls the service (every 25 ms, through the engine's API) until its spec names an
 * image other than `before` and every task meant to run runs it, by the same rule the
 * deployer's swarm target uses. Resolves to the moment that was first seen.
 */
async function convergedAway(
  docker: Docker,
  service: string,
  before: string,
): Promise<{ at: number; image: string }> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const info = await inspectService(docker, service);
    const image = (info.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } }).ContainerSpec
      ?.Image;
    if (image && image !== before) {
      const state = convergence(info, await serviceTasks(docker, info.ID!), image);
      if (state.state === 'converged') return { at: performance.now(), image };
      if (state.state === 'failed') throw new Error(`${service}: update failed: ${state.reason}`);
    }
    if (performance.now() > deadline) throw new Error(`${service} did not converge within 120 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const specImage = async (docker: Docker, service: string) =>
  (
    (await inspectService(docker, service)).Spec?.TaskTemplate as {
      ContainerSpec?: { Image?: string };
    }
  ).ContainerSpec!.Image!;

export async function benchPushToLive(rounds = 7): Promise<PushToLiveFigures> {
  const id = uniqueName('ptl').toLowerCase();
  const service = `bench-${id}`;
  const target = `${REGISTRY}/bench/${id}:live`;
  const stagingRepo = `${REGISTRY}/staging-${id}`;
  const directRepo = `${REGISTRY}/bench/${id}-direct`;
  const docker = localDocker();
  const git = await new GitServer().start();
  const repo = git.createRepo('bench', 'ptl');
  const where = { owner: 'bench', name: 'ptl', cloneUrl: git.cloneUrl('bench', 'ptl') };
  const directDir = mkdtempSync(join(tmpdir(), 'bench-ptl-direct-'));
  const initial = pushInitialImage(`bench/${id}-initial`);
  let h: Harness | undefined;
  let specKey = '';
  const shas: string[] = [];
  try {
    execFileSync('docker', [
      'service',
      'create',
      '--detach',
      '--name',
      service,
      '--update-monitor',
      UPDATE_MONITOR,
      // The first image's `sleep` ignores SIGTERM; the images built here stop at once.
      '--stop-grace-period',
      '2s',
      initial,
    ]);
    h = await startHarness(
      {
        name: uniqueName('bench-ptl'),
        baseUrl: 'http://deployer.test',
        stagingRepo,
        repos: [
          {
            owner: 'bench',
            name: 'ptl',
            builds: [
              {
                dockerfile: 'Dockerfile',
                deployments: [
                  { branch: 'live', target, services: [{ name: service, context: 'default' }] },
                ],
              },
            ],
          },
        ],
      },
      {
        pools: [POOL],
        deploySettings: testDeploySettings(mkdtempSync(join(tmpdir(), 'bench-dockercfg-'))),
      },
    );
    const runtime = h.deployer.runtime;
    specKey = runtime.index.get(repoKey('bench', 'ptl'))!.specs[0].key;
    repo.write({ busybox }, 0o755);
    repo.write({ Dockerfile: DOCKERFILE });
    writeFileSync(join(directDir, 'busybox'), busybox, { mode: 0o755 });
    writeFileSync(join(directDir, 'Dockerfile'), DOCKERFILE);

    let before = '0'.repeat(40);
    const viaDeployer = async (n: number): Promise<DeployerPhases> => {
      repo.write({ 'version.txt': `${id} deployer ${n}\n` }); // a layer of its own: no cache hit
      const sha = repo.commit(`round ${n}`);
      shas.push(sha);
      repo.push('live');
      const was = await specImage(docker, service);
      const t0 = performance.now();
      const sentAt = Date.now();
      const converged = convergedAway(docker, service, was);
      const res = await h!.send('push', pushPayload(where, 'live', sha, before));
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`the receiver answered ${res.status}`);
      before = sha;
      const { at, image } = await converged;
      if (!image.startsWith(`${target}@`) && !image.startsWith(`${target.replace(/:live$/, '')}@`))
        throw new Error(`${service} runs ${image}, not the deployed target`);
      const build = (await runtime.queues.build(POOL).getJobs(['completed'])).find(
        (j) => j.data.sha === sha,
      );
      // The deploy job is handed back just after the deployer saw the service converge.
      let deploy = (await runtime.queues.deploy.getJobs(['completed'])).find(
        (j) => j.data.sha === sha,
      );
      for (let i = 0; !deploy?.finishedOn && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        deploy = (await runtime.queues.deploy.getJobs(['completed'])).find(
          (j) => j.data.sha === sha,
        );
      }
      if (!build?.processedOn || !deploy?.processedOn || !deploy.finishedOn)
        throw new Error(`round ${n}: the build or deploy job of ${sha} did not complete`);
      return {
        intakeMs: build.timestamp - sentAt,
        buildWaitMs: build.processedOn - build.timestamp,
        buildMs: deploy.timestamp - build.processedOn,
        deployWaitMs: deploy.processedOn - deploy.timestamp,
        deployMs: deploy.finishedOn - deploy.processedOn,
        totalMs: at - t0,
        deployDoneMs: deploy.finishedOn - sentAt,
      };
    };

    const viaCli = async (n: number): Promise<DirectPhases> => {
      writeFileSync(join(directDir, 'version.txt'), `${id} direct ${n}\n`);
      const tag = `${directRepo}:r${n}`;
      const was = await specImage(docker, service);
      const t0 = performance.now();
      await run('docker', ['build', '-q', '-t', tag, directDir]);
      const t1 = performance.now();
      const { stdout } = await run('docker', ['push', tag]);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1];
      if (!digest) throw new Error(`docker push ${tag} printed no digest: ${stdout}`);
      const t2 = performance.now();
      const converged = convergedAway(docker, service, was);
      await run('docker', [
        'service',
        'update',
        '--detach',
        '--image',
        `${directRepo}@${digest}`,
        service,
      ]);
      const { at } = await converged;
      return { buildMs: t1 - t0, pushMs: t2 - t1, updateMs: at - t2, totalMs: at - t0 };
    };

    // A warm-up round of each (first update away from the initial image, first
    // connections), then rounds in the order D C, C D, D C, …
    await viaDeployer(0);
    await viaCli(0);
    const deployer: DeployerPhases[] = [];
    const direct: DirectPhases[] = [];
    for (let i = 1; i <= rounds; i++) {
      if (i % 2) {
        deployer.push(await viaDeployer(i));
        direct.push(await viaCli(i));
      } else {
        direct.push(await viaCli(i));
        deployer.push(await viaDeployer(i));
      }
    }
    // Where the build phase goes: the worker's steps alone, on fresh commits.
    const steps: BuildSteps[] = [];
    for (let i = 1; i <= 3; i++) {
      repo.write({ 'version.txt': `${id} steps ${i}\n` });
      const sha = repo.commit(`steps ${i}`);
      repo.push(`steps-${i}`);
      const dir = join(directDir, `fetch-${i}`);
      const tag = `${stagingRepo}:steps-${i}`;
      const t0 = performance.now();
      await fetchCommit({ cloneUrl: where.cloneUrl, sha, ref: `refs/heads/steps-${i}`, dir });
      const t1 = performance.now();
      await buildImage(docker, {
        context: await packContext(dir, { includeGit: false, dockerfile: 'Dockerfile' }),
        dockerfile: 'Dockerfile',
        buildArgs: {},
        platform: 'linux/amd64',
        ulimits: [],
        tag,
        onLine: () => undefined,
      });
      const t2 = performance.now();
      await pushImage(
        docker,
        tag,
        { repository: stagingRepo, tag: `steps-${i}-pushed` },
        undefined,
        () => undefined,
      );
      steps.push({ fetchMs: t1 - t0, buildkitMs: t2 - t1, pushMs: performance.now() - t2 });
    }

    const deployerMedianMs = median(deployer.map((d) => d.totalMs));
    const directMedianMs = median(direct.map((d) => d.totalMs));
    return {
      rounds,
      deployer,
      direct,
      deployerMedianMs,
      directMedianMs,
      overheadMs: deployerMedianMs - directMedianMs,
      ratio: deployerMedianMs / directMedianMs,
      median: { deployer: medianOf(deployer), direct: medianOf(direct), steps: medianOf(steps) },
    };
  } finally {
    await removeService(service);
    if (h) {
      await h.close();
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
    await git.stop();
    rmSync(directDir, { recursive: true, force: true });
    removeImages([
      ...shas.map((sha) => `deployer-build/${specKey}:${sha.slice(0, 12)}-${POOL}`),
      ...[
        stagingRepo,
        directRepo,
        target.replace(/:live$/, ''),
        initial.replace(/:initial$/, ''),
      ].flatMap(refsOf),
    ]);
  }
}

/** `docker service rm`, then waits until its containers are gone (their images can go then). */
async function removeService(service: string): Promise<void> {
  try {
    execFileSync('docker', ['service', 'rm', service], { stdio: 'ignore' });
  } catch {
    return; // never created
  }
  const filter = `label=com.docker.swarm.service.name=${service}`;
  for (let i = 0; i < 100; i++) {
    const left = execFileSync('docker', ['ps', '-aq', '--filter', filter], { encoding: 'utf8' });
    if (!left.trim()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Every local reference to images of `repository` (tags, and digests of images pulled
 * by digest). By reference, never by image id: an id can be shared with other tests'
 * images (the first image here is built exactly as theirs are).
 */
function refsOf(repository: string): string[] {
  return execFileSync(
    'docker',
    [
      'image',
      'ls',
      '--digests',
      '--format',
      '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}',
      repository,
    ],
    { encoding: 'utf8' },
  )
    .split(/\s+/)
    .filter((ref) => ref && !ref.endsWith(':<none>') && !ref.endsWith('@<none>'));
}

/** Removes what the benchmark built, staged, pulled and tagged (the service is gone first). */
function removeImages(refs: string[]): void {
  for (const ref of new Set(refs)) {
    try {
      execFileSync('docker', ['rmi', ref], { stdio: 'ignore' });
    } catch {
      // never built, or already gone with another reference
    }
  }
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** `npm run bench -- push-to-live`: runs the benchmark and prints its figures and verdicts. */
export async function pushToLiveSection(): Promise<void> {
  const f = await benchPushToLive();
  const d = f.median.deployer;
  const c = f.median.direct;
  const st = f.median.steps;
  console.log('## Push-to-live overhead');
  console.log(
    `${f.rounds} rounds of each after a warm-up, alternating; Swarm service on the local engine (update monitor ${UPDATE_MONITOR}), registry ${REGISTRY}`,
  );
  console.log(
    `deployer, webhook → converged: median ${sec(f.deployerMedianMs)} (${f.deployer.map((r) => sec(r.totalMs)).join(', ')})`,
  );
  console.log(
    `  intake ${sec(d.intakeMs)}, build queued ${sec(d.buildWaitMs)}, build (fetch, build, stage) ${sec(d.buildMs)}, deploy queued ${sec(d.deployWaitMs)}, deploy (manifest list, update, converge) ${sec(d.deployMs)} (medians)`,
  );
  console.log(
    `  the deploy job done (the deployer's own view of convergence): ${sec(d.deployDoneMs)} after the webhook (median)`,
  );
  console.log(
    `docker CLI, build + push + service update → converged: median ${sec(f.directMedianMs)} (${f.direct.map((r) => sec(r.totalMs)).join(', ')})`,
  );
  console.log(
    `  build ${sec(c.buildMs)}, push ${sec(c.pushMs)}, update until converged ${sec(c.updateMs)} (medians)`,
  );
  console.log(
    `the worker's build steps alone (median of 3): fetch ${sec(st.fetchMs)}, BuildKit build ${sec(st.buildkitMs)}, push ${sec(st.pushMs)}`,
  );
  console.log(`overhead: ${sec(f.overheadMs)}, ratio ${f.ratio.toFixed(2)}`);
  console.log(`goal overhead < 1 s: ${f.overheadMs < 1_000 ? 'met' : 'NOT met'}`);
  console.log(`goal ratio ≤ 1.15: ${f.ratio <= 1.15 ? 'met' : 'NOT met'}`);
}
