import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';

/** The value of one sample in Prometheus' text format, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (m[2].split(',').sort().join(',') === wanted.join(',')) return Number(m[3]);
  }
  return 0;
}

describe('/metrics', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  const where = { owner: 'acme', name: 'metered', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'metered');
    where.cloneUrl = git.cloneUrl('acme', 'metered');
    h = await startHarness(testFlavour({ repos: [testRepo('acme/metered')] }));
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
  });

  const scrape = async () => {
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('counts webhooks as they are answered and jobs as they finish', async () => {
    const before = await scrape();
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
    repo.write({ Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\n' });
    const sha = repo.commit('metered');
    repo.push('main');
    expect((await h.send('push', pushPayload(where, 'main', sha))).status).toBe(200);
    expect(
      (await h.send('push', pushPayload(where, 'main', sha), { signature: 'sha256=bad' })).status,
    ).toBe(400);

    const pushes = (t: string) =>
      sample(t, 'deployer_webhooks_total', { event: 'push', status: '200' });
    // A delivery not signed with the secret does not get to name its event.
    const refused = (t: string) =>
      sample(t, 'deployer_webhooks_total', { event: 'unsigned', status: '400' });
    const built = (t: string) =>
      sample(t, 'deployer_jobs_total', { queue: 'build-linux-x86_64', state: 'completed' });

    const after = await waitFor('the build to be counted', async () => {
      const t = await scrape();
      return built(t) > built(before) ? t : undefined;
    });
    expect(pushes(after) - pushes(before)).toBe(1);
    expect(refused(after) - refused(before)).toBe(1);
    expect(built(after) - built(before)).toBe(1);
    expect(after).toMatch(
      /^deployer_job_duration_seconds_count\{queue="build-linux-x86_64",state="completed"\} 1$/m,
    );
    expect(
      sample(after, 'deployer_queue_jobs', { queue: 'build-linux-x86_64', state: 'completed' }),
    ).toBe(1);
  });

  it('shows deliveries waiting in the intake while no worker takes them', async () => {
    const receiver = await startHarness(testFlavour({ repos: [testRepo('acme/metered')] }), {
      worker: false,
    });
    try {
      const entries = async () =>
        Number(
          /^deployer_intake_entries (\S+)$/m.exec(
            await (await fetch(`${receiver.url}/metrics`)).text(),
          )?.[1],
        );
      expect(await entries()).toBe(0);
      const sha = 'a'.repeat(40);
      expect((await receiver.send('push', pushPayload(where, 'main', sha))).status).toBe(200);
      expect(await entries()).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});
