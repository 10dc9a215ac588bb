import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchCommit } from '../../src/exec/git.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import {
  busybox,
  docker,
  dockerConfigWithContext,
  REGISTRY,
  testDeploySettings,
} from '../helpers/swarm.js';

/** What an operator's worker has in its environment and must keep to itself. */
const SECRETS: Record<string, string> = {
  PRIVATE_KEY: 'leaked-private-key',
  WEBHOOK_SECRET: 'leaked-webhook-secret',
  GITHUB_CLIENT_SECRET: 'leaked-client-secret',
  DEPLOYER_SESSION_SECRET: 'leaked-session-secret',
  DOCKER_PASSWORD: 'leaked-registry-password',
  REGISTRY_PASSWORD: 'leaked-registry-password-2',
};

describe('child processes see an allow-listed environment, never the secrets', () => {
  let git: GitServer;
  const saved = { ...process.env };
  const closers: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    git = await new GitServer().start();
  });
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
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

  it('git: a hook of the operator’s git configuration sees no secret', async () => {
    // The operator's ~/.gitconfig runs a post-checkout hook (as core.hooksPath may);
    // it writes the environment git gave it.
    const home = mkdtempSync(join(tmpdir(), 'deployer-home-'));
    const hooks = join(home, 'hooks');
    const dump = join(home, 'hook-env');
    mkdirSync(hooks);
    writeFileSync(join(hooks, 'post-checkout'), `#!/bin/sh\nenv > ${dump}\n`);
    chmodSync(join(hooks, 'post-checkout'), 0o755);
    writeFileSync(join(home, '.gitconfig'), `[core]\n\thooksPath = ${hooks}\n`);
    Object.assign(process.env, SECRETS, { HOME: home, LC_ALL: 'C.UTF-8' });

    const repo = git.createRepo('acme', 'hooked');
    repo.write({ 'README.md': 'hi\n' });
    const sha = repo.commit('one');
    repo.push('main');
    await fetchCommit({
      cloneUrl: git.cloneUrl('acme', 'hooked'),
      sha,
      ref: 'refs/heads/main',
      dir: join(home, 'checkout'),
      token: 'installation-token',
    });

    const env = readFileSync(dump, 'utf8');
    expect(env).toContain(`HOME=${home}`);
    expect(env).toContain('LC_ALL=C.UTF-8');
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(env).not.toContain(`${name}=`);
      expect(env).not.toContain(value);
    }
  });

  it('docker compose: a compose file interpolating the secrets deploys them empty', async () => {
    const name = uniqueName('envleak').toLowerCase();
    const target = `${REGISTRY}/acme/${name}:live`;
    const repo = git.createRepo('acme', name);
    const where = { owner: 'acme', name, cloneUrl: git.cloneUrl('acme', name) };
    const h: Harness = await startHarness(
      testFlavour({
        stagingRepo: `${REGISTRY}/staging-${name}`,
        repos: [
          testRepo(`acme/${name}`, {
            deployments: [
              {
                branch: 'live',
                target,
                services: [
                  // The local engine: `docker compose` runs as a child of the worker.
                  { name, kind: 'compose', compose: 'deploy.yml', context: 'default' },
                ],
              },
            ],
          }),
        ],
      }),
      { deploySettings: testDeploySettings(dockerConfigWithContext('unused')) },
    );
    closers.push(
      () => h.close(),
      () => {
        const ids = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${name}`);
        for (const id of ids.split('\n').filter(Boolean)) docker('rm', '-f', id);
      },
    );
    Object.assign(process.env, SECRETS);

    const leaks = Object.keys(SECRETS)
      .map((s) => `      LEAK_${s}: "[\${${s}}]"`)
      .join('\n');
    repo.write({ busybox }, 0o755);
    repo.write({
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "3600"]\n',
      'deploy.yml': `services:\n  app:\n    image: ${target}@$IMAGE_HASH\n    stop_grace_period: 1s\n    environment:\n${leaks}\n`,
    });
    const sha = repo.commit('v1');
    repo.push('live');
    expect((await h.send('push', pushPayload(where, 'live', sha))).status).toBe(200);
    const done = await waitFor(
      'the deployment to finish',
      () =>
        h.github.requests.find(
          (r) =>
            r.path.endsWith('/statuses') &&
            ['success', 'failure'].includes((r.body as { state?: string }).state ?? ''),
        ),
      120_000,
    );
    expect(done.body).toMatchObject({ state: 'success' });

    const id = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${name}`);
    const env = JSON.parse(docker('inspect', id, '--format', '{{json .Config.Env}}')) as string[];
    for (const secret of Object.keys(SECRETS)) expect(env).toContain(`LEAK_${secret}=[]`);
    expect(execFileSync('docker', ['inspect', id], { encoding: 'utf8' })).not.toContain('leaked-');
  }, 150_000);
});
