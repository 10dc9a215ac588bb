import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Upstream } from '../../src/config/schema.js';
import { createDeployDeps } from '../../src/wiring/deploy-deps.js';
import { localDocker } from '../../src/exec/docker/client.js';
import {
  checkUpstream,
  upstreamSchedulerId,
  type UpstreamDeps,
} from '../../src/jobs/tasks/upstream.js';
import { serviceKey } from '../../src/plan/deploy-jobs.js';
import { createUpstreamDeps } from '../../src/wiring/upstream-deps.js';
import { testFlavour } from '../helpers/flavour.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import {
  busybox,
  createService,
  docker,
  dockerConfigWithContext,
  pushInitialImage,
  REGISTRY,
  runningTasks,
  serviceImage,
  SlackListener,
  testDeploySettings,
} from '../helpers/swarm.js';

/** Builds a tiny image (`version` inside, running `cmd`), pushes it to `ref`; returns its digest. */
function pushVersion(ref: string, version: string, cmd = '["/bin/busybox", "sleep", "3600"]') {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-upstream-'));
  writeFileSync(join(dir, 'busybox'), busybox, { mode: 0o755 });
  writeFileSync(join(dir, 'version.txt'), `${version}\n`);
  writeFileSync(
    join(dir, 'Dockerfile'),
    `FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nCMD ${cmd}\n`,
  );
  execFileSync('docker', ['build', '-q', '-t', ref, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(docker('push', ref))?.[1];
  if (!digest) throw new Error(`no digest in the output of docker push ${ref}`);
  return digest;
}

const versionIndex = (service: string) =>
  Number(docker('service', 'inspect', service, '--format', '{{.Version.Index}}'));

describe('an upstream image tracked on a schedule → Swarm service over an SSH context', () => {
  const id = uniqueName('upstream').toLowerCase();
  const service = `svc-${id}`;
  const tag = `${REGISTRY}/${id}:production`;
  const key = serviceKey('testhost', service);
  let h: Harness;
  let slack: SlackListener;
  let deps: UpstreamDeps;
  let upstream: Upstream;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  beforeAll(async () => {
    slack = await new SlackListener().start();
    createService(service, pushInitialImage(`${id}-initial`));
    const settings = testDeploySettings(dockerConfigWithContext('testhost'), {
      slackWebhookFile: slack.webhookFile(),
    });
    h = await startHarness(
      testFlavour({
        repos: [],
        upstreams: [
          { image: tag, everyDays: 7, services: [{ name: service, context: 'testhost' }] },
        ],
      }),
      { worker: false },
    );
    const { runtime, probot } = h.deployer;
    const { deploy, registry } = createDeployDeps({
      settings,
      runtime,
      docker: localDocker(),
      workDir: h.env.workDir,
      log: probot.log,
      repoToken: async () => undefined,
    });
    deps = createUpstreamDeps(runtime, deploy, registry);
    upstream = runtime.flavour.upstreams[0];
  });
  afterAll(async () => {
    await h?.close();
    await slack?.stop();
    try {
      docker('service', 'rm', service);
    } catch {
      // already gone
    }
  });

  const expectRunning = (image: string) => {
    expect(serviceImage(service)).toBe(image);
    const tasks = runningTasks(service);
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) expect(t).toEqual({ image, state: 'Running' });
  };

  it('deploys the tag’s digest, does nothing while it is unchanged, redeploys once when it moves', async () => {
    const first = pushVersion(tag, 'v1');

    // Nothing deployed from it yet: deploy.
    expect(await checkUpstream(deps, upstream, log)).toEqual({
      digest: first,
      deployed: true,
      failures: [],
    });
    expectRunning(`${tag}@${first}`);
    const history = await h.deployer.runtime.deploys.history(key);
    expect(history).toEqual([
      expect.objectContaining({
        sha: '',
        digest: first,
        image: `${tag}@${first}`,
        repo: tag,
        result: 'success',
      }),
    ]);
    await waitFor('the Slack message', () => (slack.messages.length ? true : undefined));
    expect(history[0].jobId.startsWith(`${upstreamSchedulerId(upstream)}-`)).toBe(true);
    expect(slack.messages).toEqual([
      `Deploy ${tag}@${first.slice(0, 19)} as ${service}: <http://deployer.test/jobs/${history[0].jobId}|success>`,
    ]);

    // Unchanged: no deploy at all.
    const index = versionIndex(service);
    expect(await checkUpstream(deps, upstream, log)).toEqual({
      digest: first,
      deployed: false,
      failures: [],
    });
    expect(versionIndex(service)).toBe(index);
    expect(await h.deployer.runtime.deploys.history(key)).toEqual(history);
    expectRunning(`${tag}@${first}`);

    // The tag moves: redeploy to the new digest, once.
    const second = pushVersion(tag, 'v2');
    expect(second).not.toBe(first);
    expect(await checkUpstream(deps, upstream, log)).toEqual({
      digest: second,
      deployed: true,
      failures: [],
    });
    expectRunning(`${tag}@${second}`);
    const moved = versionIndex(service);
    expect(moved).toBeGreaterThan(index);
    expect(await checkUpstream(deps, upstream, log)).toMatchObject({ deployed: false });
    expect(versionIndex(service)).toBe(moved);
    const after = await h.deployer.runtime.deploys.history(key);
    expect(after.map((e) => [e.digest, e.result])).toEqual([
      [second, 'success'],
      [first, 'success'],
    ]);
    await waitFor('two Slack messages', () => (slack.messages.length === 2 ? true : undefined));
    expect(slack.messages[1]).toMatch(
      new RegExp(`^Deploy .*@${second.slice(0, 19)} as ${service}: <[^|]+\\|success>$`),
    );
  }, 240_000);

  it('an image that fails to start is rolled back, and its digest is not recorded', async () => {
    const good = await deps.upstreams.deployedDigest(upstreamSchedulerId(upstream));
    expect(good).toMatch(/^sha256:/);
    const broken = pushVersion(tag, 'broken', '["/bin/busybox", "false"]');

    const result = await checkUpstream(deps, upstream, log);
    expect(result).toMatchObject({ digest: broken, deployed: true });
    expect(result.failures).toEqual([
      expect.stringMatching(new RegExp(`^${service}: Deploy failed: .*\\(rolled back\\)$`)),
    ]);
    expect(await deps.upstreams.deployedDigest(upstreamSchedulerId(upstream))).toBe(good);
    await waitFor('the rollback', () =>
      serviceImage(service) === `${tag}@${good}` ? true : undefined,
    );
    const [latest] = await h.deployer.runtime.deploys.history(key);
    expect(latest).toMatchObject({ digest: broken, result: 'failure' });
    await waitFor('the failure message', () =>
      slack.messages.some((m) => m.endsWith('|failure>')) ? true : undefined,
    );

    // Not recorded, so the next check tries the same digest again.
    expect(await checkUpstream(deps, upstream, log)).toMatchObject({
      digest: broken,
      deployed: true,
    });
  }, 240_000);
});
