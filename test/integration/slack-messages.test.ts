import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployJobId } from '../../src/plan/deploy-jobs.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { SLACK_CHANNEL, SlackStandIn, type SlackMessage } from '../helpers/slack-stand-in.js';
import {
  busybox,
  createService,
  docker,
  dockerConfigWithContext,
  pushInitialImage,
  REGISTRY,
  serviceImage,
  testDeploySettings,
} from '../helpers/swarm.js';

const GOOD =
  'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nCMD ["/bin/busybox", "sleep", "3600"]\n';

/** The state a deploy message ends with: its link's label. */
const stateOf = (text: string) => /\|([^|>]*)>$/.exec(text)?.[1];
const linkOf = (text: string) => /: <([^|]+)\|[^|>]*>$/.exec(text)?.[1];

describe('Slack: one message per deployment of a commit, edited as it goes (Web API)', () => {
  const id = uniqueName('slack').toLowerCase();
  const service = `svc-${id}`;
  const target = `${REGISTRY}/acme/${id}:live`;
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let slack: SlackStandIn;
  const where = { owner: 'acme', name: 'web', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'web');
    where.cloneUrl = git.cloneUrl('acme', 'web');
    repo.write({ busybox }, 0o755);
    slack = await new SlackStandIn().start();
    createService(service, pushInitialImage(`acme/${id}-initial`));
    h = await startHarness(
      {
        baseUrl: 'http://deployer.test',
        stagingRepo: `${REGISTRY}/staging-${id}`,
        repos: [
          {
            owner: 'acme',
            name: 'web',
            builds: [
              {
                dockerfile: 'Dockerfile',
                archs: ['linux-x86_64', 'linux-arm64'],
                deployments: [
                  { branch: 'live', target, services: [{ name: service, context: 'testhost' }] },
                ],
              },
            ],
          },
        ],
      },
      {
        pools: ['linux-x86_64', 'linux-arm64'],
        // Service updates wait for an admin, so the message shows the wait too.
        confirm: 'dangerous',
        deploySettings: testDeploySettings(dockerConfigWithContext('testhost'), {
          slackTokenFile: slack.tokenFile(),
          // A name: chat.update must be given the ID chat.postMessage answered with.
          slackChannel: `#${SLACK_CHANNEL.name}`,
          slackApiUrl: slack.url,
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

  const push = async (version: string, dockerfile = GOOD) => {
    repo.write({ 'version.txt': `${version}\n`, Dockerfile: dockerfile });
    const sha = repo.commit(version);
    repo.push('live');
    expect((await h.send('push', pushPayload(where, 'live', sha))).status).toBe(200);
    return sha;
  };
  const specKey = () => [...h.deployer.runtime.index.values()][0].specs[0].key;
  const messagesOf = (sha: string) =>
    slack.messages.filter((m) => m.text.startsWith(`Deploy <${commitUrl(sha)}|`));
  const commitUrl = (sha: string) => `${where.cloneUrl.replace(/\.git$/, '')}/commit/${sha}`;
  const reaches = (sha: string, state: string, ms = 120_000) =>
    waitFor(
      `the message of ${sha.slice(0, 7)} to say ${state}`,
      () => messagesOf(sha).find((m) => stateOf(m.text)?.startsWith(state)),
      ms,
    ).catch((err: Error) => {
      // What it said instead (a failure's reason) is what to look at.
      const said = messagesOf(sha).flatMap((m) => m.texts.map(stateOf));
      throw new Error(`${err.message}; it said: ${JSON.stringify(said)}`);
    });
  const confirmDeploy = async (sha: string) => {
    const job = deployJobId(specKey(), sha, 'live');
    await waitFor(
      'the deploy to wait for an admin',
      async () =>
        (await h.deployer.runtime.gates.pending()).some((g) => g.jobId === job) || undefined,
    );
    expect(await h.deployer.runtime.gates.confirm(job, 'deploy')).toBe(true);
  };

  it('posts when the build starts, then edits that one message through to deployed', async () => {
    const sha = await push('v1');
    const waiting = await reaches(sha, 'waiting for confirmation');
    await confirmDeploy(sha);
    const done = await reaches(sha, 'deployed');
    expect(done).toBe(waiting);

    // Two pools built it at once: still one message, posted once.
    const posts = slack.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0].body).toEqual({ channel: '#deploys', text: done.texts[0] });
    const updates = slack.calls.filter((c) => c.method === 'chat.update');
    for (const u of updates)
      expect(u.body).toMatchObject({ channel: SLACK_CHANNEL.id, ts: done.ts });
    expect(done.texts.map(stateOf)).toEqual([
      'building',
      'pushing',
      'waiting for confirmation',
      'deploying',
      'deployed',
    ]);
    // "Deploy <commit|short> as <target tag>: <job page|state>", as the original words it.
    const short = sha.slice(0, 7);
    expect(done.text).toBe(
      `Deploy <${commitUrl(sha)}|${short}> as ${target}: <http://deployer.test/jobs/${deployJobId(specKey(), sha, 'live')}|deployed>`,
    );
    expect(linkOf(done.texts[0])).toMatch(
      new RegExp(`^http://deployer\\.test/jobs/build-[^/]*-${sha}-linux-(x86_64|arm64)-stage$`),
    );
    expect(serviceImage(service)).toMatch(new RegExp(`@sha256:[0-9a-f]{64}$`));

    // Where the message is, kept per deployment of a commit (saved once Slack answered).
    const { redis, env, flavour } = h.deployer.runtime;
    const key = `${env.prefix}:${flavour.name}:slack:${target}:${sha}`;
    const saved = await waitFor('the ended message to be saved', async () => {
      const raw = await redis.get(key);
      return raw?.includes('"ended"') ? (JSON.parse(raw) as Record<string, string>) : undefined;
    });
    expect(saved).toEqual({
      label: 'deployed',
      phase: 'ended',
      step: 'deploy',
      channel: SLACK_CHANNEL.id,
      ts: done.ts,
    });
    expect(slack.problems).toEqual([]);
  }, 240_000);

  it('gives the next commit a message of its own; a failed build ends it', async () => {
    const before = slack.messages.map((m) => ({ ...m }));
    const sha = await push('v2', 'FROM scratch\nRUN /bin/false\n');
    const failed = await reaches(sha, 'failed');
    expect(stateOf(failed.text)).toMatch(/^failed: Build failed: /);
    expect(failed.texts.map(stateOf)[0]).toBe('building');
    expect(messagesOf(sha)).toHaveLength(1);
    // Both pools fail: the second failure does not post nor edit again.
    await waitFor('both builds to end', async () => {
      const jobs = await Promise.all(
        (['linux-x86_64', 'linux-arm64'] as const).map((pool) =>
          h.deployer.runtime.queues.build(pool).getJob(`build-${specKey()}-${sha}-${pool}-stage`),
        ),
      );
      const states = await Promise.all(jobs.map((j) => j?.getState()));
      return states.every((s) => s === 'failed') || undefined;
    });
    expect(messagesOf(sha)[0].texts).toHaveLength(failed.texts.length);
    // The earlier deployment's message is left as it was.
    expect(slack.messages.slice(0, before.length)).toEqual(before);
    expect(slack.problems).toEqual([]);
  }, 240_000);

  it('keeps deploying when Slack is down, and posts the message at its next state', async () => {
    const posts = () => slack.calls.filter((c) => c.method === 'chat.postMessage').length;
    const before = posts();
    slack.faults.push({ status: 500 }, { error: 'internal_error' });
    const sha = await push('v3');
    await waitFor('two refused posts', () => (posts() >= before + 2 ? true : undefined));
    await confirmDeploy(sha);
    const done: SlackMessage = await reaches(sha, 'deployed');
    // Both pools' "building" was refused; the deploy's first state posted it.
    expect(messagesOf(sha)).toHaveLength(1);
    expect(done.texts.map(stateOf)).toEqual([
      'pushing',
      'waiting for confirmation',
      'deploying',
      'deployed',
    ]);
    expect(slack.problems).toEqual([]);
  }, 240_000);
});
