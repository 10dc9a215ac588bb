import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../src/exec/image-ref.js';
import { RegistryClient } from '../../src/exec/registry.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload, type RepoRef } from '../helpers/payloads.js';
import {
  busybox,
  docker,
  dockerConfigWithContext,
  REGISTRY,
  runningTasks,
  serviceImage,
  testDeploySettings,
} from '../helpers/swarm.js';

type Status = { state?: string; description?: string };

const DOCKERFILE =
  'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nCMD ["/bin/busybox", "sleep", "3600"]\n';

/** A repository whose `live` branch deploys one service of `kind` from `deploy/stack.yml`. */
async function startComposeDeployer(
  git: GitServer,
  kind: 'stack' | 'compose',
  name: string,
  target: string,
): Promise<{ h: Harness; repo: GitRepo; where: RepoRef }> {
  const repoName = `app-${name}`;
  const repo = git.createRepo('acme', repoName);
  const where = { owner: 'acme', name: repoName, cloneUrl: git.cloneUrl('acme', repoName) };
  const h = await startHarness(
    testFlavour({
      stagingRepo: `${REGISTRY}/staging-${name}`,
      repos: [
        testRepo(`acme/${repoName}`, {
          deployments: [
            {
              branch: 'live',
              target,
              services: [
                {
                  name,
                  kind,
                  compose: 'deploy/stack.yml',
                  context: 'testhost',
                  uri: `${name}.example.org`,
                },
              ],
            },
          ],
        }),
      ],
    }),
    { deploySettings: testDeploySettings(dockerConfigWithContext('testhost')) },
  );
  return { h, repo, where };
}

const composeFile = (target: string, version: string) =>
  `version: "${version}"\nservices:\n  app:\n    image: ${target}@$IMAGE_HASH\n    stop_grace_period: 1s\n`;

/** Pushes the app with its compose file to `live`; waits for the deployment to succeed. */
async function deploy(
  d: { h: Harness; repo: GitRepo; where: RepoRef },
  compose: string,
): Promise<{ sha: string; description?: string }> {
  d.repo.write({ busybox }, 0o755);
  d.repo.write({ Dockerfile: DOCKERFILE, 'version.txt': 'v1\n', 'deploy/stack.yml': compose });
  const sha = d.repo.commit('v1');
  d.repo.push('live');
  expect((await d.h.send('push', pushPayload(d.where, 'live', sha))).status).toBe(200);
  const done = await waitFor(
    'the deployment to finish',
    () =>
      d.h.github.requests.find(
        (r) =>
          r.path.endsWith('/statuses') &&
          ['success', 'failure'].includes((r.body as Status).state ?? ''),
      ),
    120_000,
  );
  expect(done.body).toMatchObject({ state: 'success' });
  return { sha, description: (done.body as Status).description };
}

async function targetDigest(target: string): Promise<string> {
  return (await new RegistryClient().headManifest(parseImageRef(target))).digest;
}

describe('stack and compose services over an SSH docker context', () => {
  let git: GitServer;
  const closers: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    git = await new GitServer().start();
  });
  afterAll(async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // already gone
      }
    }
    await git?.stop();
  });

  it('kind stack: docker stack deploy brings the stack up on the digest', async () => {
    const name = uniqueName('stk').toLowerCase();
    const target = `${REGISTRY}/acme/${name}:live`;
    const d = await startComposeDeployer(git, 'stack', name, target);
    closers.push(
      () => d.h.close(),
      () => void docker('stack', 'rm', name),
    );

    const { sha } = await deploy(d, composeFile(target, '3.7'));
    const image = `${target}@${await targetDigest(target)}`;
    const service = `${name}_app`;
    expect(docker('stack', 'services', name, '--format', '{{.Name}}')).toBe(service);
    expect(serviceImage(service)).toBe(image);
    await waitFor('the stack’s task running the digest', () => {
      const tasks = runningTasks(service);
      return tasks.length > 0 && tasks.every((t) => t.image === image && t.state === 'Running')
        ? true
        : undefined;
    });
    const [entry] = await d.h.deployer.runtime.deploys.history(`testhost/${name}`);
    expect(entry).toMatchObject({ sha, image, result: 'success' });
    expect(d.h.github.problems).toEqual([]);
  }, 150_000);

  it('kind compose: docker-compose brings the project up on the digest', async () => {
    // docker-compose v1 lowercases project names and drops what is not [-_a-z0-9].
    const name = uniqueName('cmp').toLowerCase();
    const target = `${REGISTRY}/acme/${name}:live`;
    const d = await startComposeDeployer(git, 'compose', name, target);
    const compose = composeFile(target, '3');
    closers.push(
      () => d.h.close(),
      () => {
        const dir = mkdtempSync(join(tmpdir(), 'deployer-compose-'));
        writeFileSync(join(dir, 'compose.yml'), compose);
        execFileSync(
          'docker-compose',
          ['-p', name, '-f', join(dir, 'compose.yml'), 'down', '--remove-orphans'],
          { env: { ...process.env, IMAGE_HASH: 'sha256:' + '0'.repeat(64) }, stdio: 'ignore' },
        );
      },
    );

    const { sha } = await deploy(d, compose);
    const image = `${target}@${await targetDigest(target)}`;
    const ids = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${name}`)
      .split('\n')
      .filter(Boolean);
    expect(ids).toHaveLength(1);
    // `docker ps` shortens a tag@digest reference; the container's config has it whole.
    expect(
      docker(
        'inspect',
        ids[0],
        '--format',
        '{{.Config.Image}} {{.State.Status}} {{index .Config.Labels "com.docker.compose.service"}} {{.Image}}',
      ),
    ).toBe(`${image} running app ${docker('image', 'inspect', image, '--format', '{{.Id}}')}`);
    const [entry] = await d.h.deployer.runtime.deploys.history(`testhost/${name}`);
    expect(entry).toMatchObject({ sha, image, result: 'success' });
    expect(d.h.github.problems).toEqual([]);
  }, 150_000);
});
