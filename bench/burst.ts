// Burst coalescing: 50 pushes to one deployment branch within 2 s, against the
// whole deployer (receiver + worker) on the real Redis, engine and registry.
import {
  execFile,
  execFileSync,
  spawn,
  type ChildProcessWithoutNullStreams,
} from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { repoKey } from '../src/config/repo-index.js';
import { sshSettings } from '../src/exec/ssh/settings.js';
import { GitServer } from '../test/helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../test/helpers/harness.js';
import { pushPayload } from '../test/helpers/payloads.js';
import { deleteKeys } from '../test/helpers/redis-keys.js';

const run = promisify(execFile);
const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
const POOL = 'linux-x86_64';

export interface BurstFigures {
  pushes: number;
  /** From the first push to the last one, and to the last webhook answered. */
  lastPushMs: number;
  burstMs: number;
  webhooksOk: number;
  /** Build jobs that reached `running` (their record has a start time). */
  buildsStarted: number;
  /** Build jobs that finished in the queue (completed or failed); a cross-check of the above. */
  buildJobsRun: number;
  buildsSucceeded: number;
  /** Deploy jobs that ran, and how many of them deployed (the others found their commit superseded). */
  deployJobsRun: number;
  deploys: number;
  deployedShas: string[];
  lastSha: string;
  /** What the deployer records as deployed on the branch. */
  recordedDeployedSha?: string;
  /** From the first push until nothing was queued or running any more. */
  settleMs: number;
}

// Builds in about a second: a fresh layer per commit (version.txt), then a sleep.
const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
COPY version.txt /version.txt
RUN ["/bin/busybox", "sleep", "1"]
`;

export async function benchBurst(pushes = 50, windowMs = 2_000): Promise<BurstFigures> {
  const id = uniqueName('burst').toLowerCase();
  const target = `${REGISTRY}/bench/${id}:live`;
  const stagingRepo = `${REGISTRY}/staging-${id}`;
  const git = await new GitServer().start();
  const repo = git.createRepo('bench', 'burst');
  const where = { owner: 'bench', name: 'burst', cloneUrl: git.cloneUrl('bench', 'burst') };
  let h: Harness | undefined;
  let specKey = '';
  const shas: string[] = [];
  try {
    h = await startHarness(
      {
        name: uniqueName('bench-burst'),
        baseUrl: 'http://deployer.test',
        stagingRepo,
        // A deployment with no services: the deploy writes the manifest list at the target.
        repos: [
          {
            owner: 'bench',
            name: 'burst',
            builds: [{ dockerfile: 'Dockerfile', deployments: [{ branch: 'live', target }] }],
          },
        ],
      },
      {
        pools: [POOL],
        deploySettings: {
          dockerConfigDir: mkdtempSync(join(tmpdir(), 'bench-dockercfg-')),
          insecureRegistries: [],
          convergeTimeoutMs: 60_000,
          ssh: sshSettings({}),
        },
      },
    );
    const runtime = h.deployer.runtime;
    specKey = runtime.index.get(repoKey('bench', 'burst'))!.specs[0].key;

    // The commits exist beforehand, and their objects are on the server already
    // (under a ref no webhook announces). Each push of the burst then only moves the
    // branch on the server, as receive-pack does at the end of a push (a whole
    // `git push`, or even a process per update, costs 50-100 ms on this machine).
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
    repo.write({ Dockerfile: DOCKERFILE });
    for (let i = 0; i < pushes; i++) {
      repo.write({ 'version.txt': `${id} ${i}\n` }); // unique per run: no build cache hits
      shas.push(repo.commit(`burst ${i}`));
    }
    await run('git', ['-C', repo.work, 'push', '-q', 'origin', 'HEAD:refs/bench/all']);
    const lastSha = shas[shas.length - 1];
    const refs = new RefMover(join(git.root, 'bench', 'burst.git'));

    // The burst: push, and send GitHub's webhook without waiting for the answer (as GitHub does).
    const t0 = performance.now();
    const answers: Promise<number>[] = [];
    let before = '0'.repeat(40);
    for (let i = 0; i < pushes; i++) {
      // Spread over 90% of the window, so the last push lands inside it on a busy machine.
      const due = t0 + (i * windowMs * 0.9) / (pushes - 1);
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await refs.move('refs/heads/live', shas[i]);
      answers.push(
        h.send('push', pushPayload(where, 'live', shas[i], before)).then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        }),
      );
      before = shas[i];
    }
    const lastPushMs = performance.now() - t0;
    refs.close();
    const statuses = await Promise.all(answers);
    const burstMs = performance.now() - t0;

    // Quiet: nothing waiting, delayed or running in the build and deploy queues for 3 s.
    const builds = runtime.queues.build(POOL);
    const busy = async () => {
      const counts = await Promise.all(
        [builds, runtime.queues.deploy].map((q) =>
          q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children'),
        ),
      );
      return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
    };
    let quietSince: number | undefined;
    await waitFor(
      'the burst to settle',
      async () => {
        if ((await busy()) > 0) quietSince = undefined;
        else quietSince ??= performance.now();
        return quietSince !== undefined && performance.now() - quietSince > 3_000
          ? true
          : undefined;
      },
      300_000,
    );
    const settleMs = quietSince! - t0;

    let buildsStarted = 0;
    for (const sha of shas)
      for (const record of await runtime.store.records('bench/burst', sha))
        if (record.startedAt !== undefined) buildsStarted++;
    const finished = await builds.getJobs(['completed', 'failed']);
    const deployJobs = await runtime.queues.deploy.getJobs(['completed', 'failed']);
    const deployed = deployJobs.filter((j) => j.returnvalue === 'deployed');
    return {
      pushes,
      lastPushMs,
      burstMs,
      webhooksOk: statuses.filter((s) => s === 200).length,
      buildsStarted,
      buildJobsRun: finished.length,
      buildsSucceeded: finished.filter((j) => j.finishedOn && !j.failedReason).length,
      deployJobsRun: deployJobs.length,
      deploys: deployed.length,
      deployedShas: deployed.map((j) => j.data.sha),
      lastSha,
      recordedDeployedSha: await runtime.deploys.deployedSha('bench/burst', specKey, 'live'),
      settleMs,
    };
  } finally {
    if (h) {
      await h.close();
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
    await git.stop();
    removeImages(
      shas.map((sha) => `deployer-build/${specKey}:${sha.slice(0, 12)}-${POOL}`),
      stagingRepo,
    );
  }
}

/** `git update-ref --stdin` kept running: each ref update is its own transaction, committed at once. */
class RefMover {
  private readonly child: ChildProcessWithoutNullStreams;
  private output = '';
  private waiting?: () => void;

  constructor(bare: string) {
    this.child = spawn('git', ['-C', bare, 'update-ref', '--stdin']);
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.includes('commit: ok\n')) {
        this.output = '';
        this.waiting?.();
      }
    });
  }

  move(ref: string, sha: string): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.child.stdin.write(`start\nupdate ${ref} ${sha}\ncommit\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

/**
 * Removes the local images the burst built and staged: its builds by tag (spec keys
 * are shared with other builds), and every image of its own staging repository
 * (superseded stagings lose the tag but keep the repository's digest).
 */
function removeImages(buildTags: string[], stagingRepo: string): void {
  const staged = execFileSync('docker', ['image', 'ls', '-q', stagingRepo], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  for (const args of [buildTags, [...new Set(staged)]]) {
    if (!args.length) continue;
    try {
      execFileSync('docker', ['rmi', '-f', ...args], { stdio: 'ignore' });
    } catch {
      // some were never built (cancelled before their build ran)
    }
  }
}
