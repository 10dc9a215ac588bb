import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
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

type Status = { state?: string; environment_url?: string; log_url?: string };

describe('push to a deployment branch → multi-arch image → Swarm service over an SSH context', () => {
  const id = uniqueName('web').toLowerCase();
  const service = `svc-${id}`;
  const target = `${REGISTRY}/acme/${id}:live`;
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let slack: SlackListener;
  const where = { owner: 'acme', name: 'web', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'web');
    where.cloneUrl = git.cloneUrl('acme', 'web');
    slack = await new SlackListener().start();
    createService(service, pushInitialImage(`acme/${id}-initial`));
    h = await startHarness(
      testFlavour({
        stagingRepo: `${REGISTRY}/staging-${id}`,
        repos: [
          testRepo('acme/web', {
            archs: ['linux-x86_64', 'linux-arm64'],
            deployments: [
              {
                branch: 'live',
                target,
                services: [{ name: service, context: 'testhost', uri: 'web.example.org' }],
              },
            ],
          }),
        ],
      }),
      {
        pools: ['linux-x86_64', 'linux-arm64'],
        deploySettings: testDeploySettings(dockerConfigWithContext('testhost'), {
          slackWebhookFile: slack.webhookFile(),
        }),
      },
    );
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    await slack?.stop();
    try {
      docker('service', 'rm', service);
    } catch {
      // already gone
    }
  });

  it('ends with every task running the new digest, a Deployment and Slack messages', async () => {
    repo.write({ busybox }, 0o755);
    repo.write({
      'version.txt': 'v1\n',
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nCMD ["/bin/busybox", "sleep", "3600"]\n',
    });
    const sha = repo.commit('v1');
    repo.push('live');
    expect((await h.send('push', pushPayload(where, 'live', sha))).status).toBe(200);

    const success = await waitFor(
      'a successful deployment status',
      () =>
        h.github.requests.find(
          (r) => r.path.endsWith('/statuses') && (r.body as Status).state === 'success',
        ),
      120_000,
    );
    // The manifest list at the target tag has both platforms.
    const list = JSON.parse(docker('manifest', 'inspect', '--insecure', target)) as {
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    expect(list.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);

    const image = serviceImage(service);
    expect(image).toMatch(new RegExp(`^${target.replace(/[.]/g, '\\.')}@sha256:[0-9a-f]{64}$`));
    const tasks = runningTasks(service);
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) expect(t).toEqual({ image, state: 'Running' });

    const deployment = h.github.requests.find(
      (r) => r.method === 'POST' && r.path === '/repos/acme/web/deployments',
    );
    expect(deployment?.body).toMatchObject({
      ref: sha,
      environment: service,
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
    });
    const states = h.github.requests
      .filter((r) => r.path.endsWith('/statuses'))
      .map((r) => (r.body as Status).state);
    expect(states).toEqual(['in_progress', 'success']);
    expect(success.body).toMatchObject({ environment_url: 'https://web.example.org' });
    expect((success.body as Status).log_url).toMatch(/^http:\/\/deployer\.test\/jobs\/deploy-/);
    expect(h.github.problems).toEqual([]);

    // An incoming webhook cannot edit: the deployment's message is posted at its
    // start and again at its end, as the original's were ("as" its target tag).
    await waitFor('the Slack message', () => slack.messages.find((m) => m.endsWith('|deployed>')));
    const start = `^Deploy <${where.cloneUrl.replace(/\.git$/, '')}/commit/${sha}\\|${sha.slice(0, 7)}> as ${target.replace(/[.]/g, '\\.')}: `;
    expect(slack.messages).toEqual([
      expect.stringMatching(
        new RegExp(`${start}<http://deployer\\.test/jobs/build-[^|]+-stage\\|building>$`),
      ),
      expect.stringMatching(
        new RegExp(`${start}<http://deployer\\.test/jobs/deploy-[^|]+\\|deployed>$`),
      ),
    ]);
  }, 180_000);
});
