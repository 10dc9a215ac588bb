import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeBuildImages } from '../helpers/build-images.js';
import { DeployScenario, dockerConfig } from '../helpers/deploy-scenario.js';
import { GitServer } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { deleteKeys } from '../helpers/redis-keys.js';
import { serviceImage, SSH_PORT, testDeploySettings } from '../helpers/swarm.js';

describe('a signed push delivered again long after, when the branch has moved on', () => {
  let git: GitServer;
  let s: DeployScenario;
  let h: Harness;
  const shas: string[] = [];

  beforeAll(async () => {
    git = await new GitServer().start();
    s = new DeployScenario(git);
    s.createService();
    h = await startHarness(s.flavour(), {
      deploySettings: testDeploySettings(
        dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` }),
      ),
    });
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    s?.removeService();
    if (h) {
      removeBuildImages(h, `acme/${s.repoName}`, shas);
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
  });

  const deployed = (sha: string) =>
    waitFor(
      `${sha.slice(0, 7)} deployed`,
      async () => {
        const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
        return entry?.sha === sha && entry.result === 'success' ? entry : undefined;
      },
      90_000,
    );

  it('does not deploy the old commit again', async () => {
    const v1 = s.commit('v1');
    shas.push(v1);
    // The push that created `live` (no `before`): the one an attacker would keep.
    const creation = pushPayload(s.where, 'live', v1);
    s.repo.push('live');
    expect((await h.send('push', creation)).status).toBe(200);
    await deployed(v1);
    const v2 = s.commit('v2');
    shas.push(v2);
    await s.push(h, v2, v1);
    const running = await deployed(v2);

    // A week passes: BullMQ has let go of the finished jobs that made a redelivery a no-op.
    const { queues } = h.deployer.runtime;
    for (const queue of [queues.intake.queue, queues.build('linux-x86_64'), queues.deploy])
      await queue.clean(0, 10_000, 'completed');
    expect((await h.send('push', creation)).status).toBe(200);

    const replayed = await waitFor(
      'the replayed deploy to end',
      async () => {
        const jobs = await queues.deploy.getJobs(['completed', 'failed']);
        return jobs.find((j) => j.data.sha === v1);
      },
      90_000,
    );
    expect(replayed.returnvalue).toBe('superseded');
    const [latest] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(latest.sha).toBe(v2);
    expect(serviceImage(s.service)).toBe(running.image);
  }, 180_000);
});
