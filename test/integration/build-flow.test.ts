import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { INSTALLATION_TOKEN, type RecordedRequest } from '../helpers/github-stand-in.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';

const busybox = readFileSync('/bin/busybox');
const dockerfile = (run: string) =>
  `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "${run}"]\n`;

type Body = {
  status?: string;
  conclusion?: string;
  head_sha?: string;
  name?: string;
  output?: { title: string; summary: string; text?: string };
};

describe('webhook → build → deployability check run (real Redis, dockerd, git over HTTP)', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  const target = { owner: 'acme', name: 'web', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'web');
    target.cloneUrl = git.cloneUrl('acme', 'web');
    h = await startHarness(testFlavour({ repos: [testRepo('acme/web')] }));
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
  });

  /** The check-run writes for one commit, in order, with the id GitHub gave them. */
  function writesFor(sha: string): { req: RecordedRequest; body: Body }[] {
    const created = h.github.requests.find(
      (r) => r.method === 'POST' && (r.body as Body)?.head_sha === sha,
    );
    if (!created) return [];
    const index = h.github.requests.indexOf(created);
    const id =
      1000 +
      h.github.requests.filter(
        (r, i) => i < index && r.method === 'POST' && r.path.endsWith('/check-runs'),
      ).length;
    return h.github.requests
      .filter((r) => r === created || r.path.endsWith(`/check-runs/${id}`))
      .map((req) => ({ req, body: req.body as Body }));
  }

  const conclusionOf = (sha: string) => async () =>
    writesFor(sha).find((w) => w.body.conclusion)?.body;

  it('builds a pushed commit and reports queued → in_progress → success', async () => {
    repo.write({ busybox }, 0o755);
    repo.write({ Dockerfile: dockerfile('echo building $(/bin/busybox uname -m)') });
    const sha = repo.commit('first');
    repo.push('main');

    const res = await h.send('push', pushPayload(target, 'main', sha));
    expect(res.status).toBe(200);

    const done = await waitFor('a concluded check run', conclusionOf(sha));
    expect(done.conclusion).toBe('success');
    expect(done.output?.title).toBe('1 of 1 builds passed');
    expect(done.output?.summary).toContain('| [Dockerfile](http://deployer.test/jobs/build-');
    const writes = writesFor(sha);
    expect(writes[0].req.method).toBe('POST');
    expect(writes[0].req.path).toBe('/repos/acme/web/check-runs');
    expect(writes[0].body).toMatchObject({
      name: 'deployability',
      head_sha: sha,
      status: 'queued',
    });
    expect(writes.map((w) => w.body.status)).toContain('in_progress');
    expect(h.github.problems).toEqual([]);
    // The source was fetched with the installation token, sent as a header.
    const basic = `Basic ${Buffer.from(`x-access-token:${INSTALLATION_TOKEN}`).toString('base64')}`;
    expect(git.authHeaders).toContain(basic);
  });

  it('reports a failing Dockerfile as failure, with the failing step in the output', async () => {
    repo.write({ Dockerfile: dockerfile('echo about to fail; exit 3') });
    const sha = repo.commit('broken');
    repo.push('broken');
    await h.send('push', pushPayload(target, 'broken', sha));

    const done = await waitFor('a failed check run', conclusionOf(sha));
    expect(done.conclusion).toBe('failure');
    expect(done.output?.title).toBe('1 of 1 builds failed');
    expect(done.output?.text).toContain('exit code: 3');
    expect(done.output?.text).toContain('about to fail');
    expect(done.output?.text).toMatch(
      /RUN \["\/bin\/busybox", "sh", "-c", "echo about to fail; exit 3"\]/,
    );
  });

  it('a newer push to the same branch cancels the running build of the older commit', async () => {
    repo.write({ Dockerfile: dockerfile('echo slow; sleep 60') });
    const slow = repo.commit('slow');
    repo.push('feature');
    await h.send('push', pushPayload(target, 'feature', slow));
    await waitFor('the slow build to start', () =>
      writesFor(slow).some((w) => w.body.status === 'in_progress') ? true : undefined,
    );

    repo.write({ Dockerfile: dockerfile('echo quick') });
    const quick = repo.commit('quick');
    repo.push('feature');
    await h.send('push', pushPayload(target, 'feature', quick, slow));

    const cancelled = await waitFor('the slow build to be cancelled', conclusionOf(slow), 30_000);
    expect(cancelled.conclusion).toBe('cancelled');
    expect(cancelled.output?.title).toBe(`Cancelled: superseded by ${quick.slice(0, 7)}`);
    const built = await waitFor('the quick build', conclusionOf(quick));
    expect(built.conclusion).toBe('success');
  });
});
