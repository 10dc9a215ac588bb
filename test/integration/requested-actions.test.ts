import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployJobId } from '../../src/plan/deploy-jobs.js';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { example, pushPayload, type RepoRef } from '../helpers/payloads.js';

const busybox = readFileSync('/bin/busybox');

/** GitHub's `check_run.requested_action` example, pressed on our check run of `sha`. */
function pressed(repo: RepoRef, sha: string, identifier: string, login: string) {
  const p = example('check_run', 'requested_action');
  p.check_run.name = 'deployability';
  p.check_run.head_sha = sha;
  p.requested_action = { identifier };
  p.sender.login = login;
  p.repository.name = repo.name;
  p.repository.full_name = `${repo.owner}/${repo.name}`;
  p.repository.owner.login = repo.owner;
  p.installation = { id: 42, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' };
  return p;
}

describe('buttons on the check run: Confirm, Rebuild and Roll back, for admins only', () => {
  const where = { owner: 'acme', name: 'web', cloneUrl: '' };
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let runs: CheckRuns;
  let sha: string;

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'web');
    where.cloneUrl = git.cloneUrl('acme', 'web');
    // Builds wait for confirmation (`average` is a build's level).
    h = await startHarness(
      testFlavour({ admins: ['github:alice'], repos: [testRepo('acme/web')] }),
      { confirm: 'average' },
    );
    runs = trackCheckRuns(h.github);
    repo.write({ busybox }, 0o755);
    repo.write({
      Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "true"]\n',
    });
    sha = repo.commit('first');
    repo.push('main');
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
  });

  const press = async (identifier: string, login: string) =>
    (await h.send('check_run', pressed(where, sha, identifier, login))).status;

  it('asks for confirmation with action_required; a non-admin press changes nothing', async () => {
    await h.send('push', pushPayload(where, 'main', sha));
    const asked = await waitFor('an action_required check run', () =>
      runs.writes(sha).find((w) => w.conclusion === 'action_required'),
    );
    expect(asked.actions).toEqual([
      expect.objectContaining({ identifier: 'confirm', label: 'Confirm' }),
    ]);
    expect(await press('confirm', 'mallory')).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await h.deployer.runtime.gates.pendingFor('acme/web', sha)).toHaveLength(1);
    expect(runs.concluded(sha)?.conclusion).toBe('action_required');
  });

  it('lets an admin confirm: the build runs, and a new check run reports it', async () => {
    expect(await press('confirm', 'Alice')).toBe(200); // logins compare in any case
    const done = await waitFor('a successful check run', () =>
      runs.concluded(sha)?.conclusion === 'success' ? runs.concluded(sha) : undefined,
    );
    expect(done.conclusion).toBe('success');
    expect(await h.deployer.runtime.gates.pendingFor('acme/web', sha)).toHaveLength(0);
    // The completed action_required run is not reopened: the build got a fresh one.
    expect(runs.created(sha).length).toBe(2);
  });

  it('rebuilds for an admin only', async () => {
    const before = runs.created(sha).length;
    expect(await press('rebuild', 'mallory')).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(runs.created(sha).length).toBe(before);
    expect(await press('rebuild', 'alice')).toBe(200);
    await waitFor('a fresh check run for the rebuild', () =>
      runs.created(sha).length > before ? true : undefined,
    );
    // The rebuild waits for confirmation like any build.
    await waitFor('the rebuild to wait', async () =>
      (await h.deployer.runtime.gates.pendingFor('acme/web', sha)).length ? true : undefined,
    );
    // The same press again (a replay under a new delivery id, or a double click) does nothing.
    const after = runs.created(sha).length;
    expect(await press('rebuild', 'alice')).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(runs.created(sha).length).toBe(after);
  });

  it('a newer push cancels the waiting build, and its gate goes with it', async () => {
    expect(await h.deployer.runtime.gates.pendingFor('acme/web', sha)).toHaveLength(1);
    repo.write({ 'newer.txt': 'newer\n' });
    const newer = repo.commit('newer');
    repo.push('main');
    await h.send('push', pushPayload(where, 'main', newer, sha));
    await waitFor('the newer commit to wait instead', async () =>
      (await h.deployer.runtime.gates.pendingFor('acme/web', newer)).length ? true : undefined,
    );
    expect(await h.deployer.runtime.gates.pendingFor('acme/web', sha)).toEqual([]);
    const records = await h.deployer.runtime.store.records('acme/web', sha);
    expect(records.map((r) => r.status)).toEqual(['cancelled']);
  });

  it('rolls back what a commit deployed to the version before it, and pins it', async () => {
    const { deploys, queues, store } = h.deployer.runtime;
    const entry = (commit: string, digest: string, jobId: string) => ({
      sha: commit,
      digest,
      image: `registry.test/acme/web@${digest}`,
      repo: 'acme/web',
      branch: 'live',
      jobId,
      result: 'success' as const,
      startedAt: Date.now(),
      specKey: 'spec',
      cloneUrl: where.cloneUrl,
      installationId: 42,
    });
    const older = 'b'.repeat(40);
    await deploys.record('prod/web', entry(older, 'sha256:old', 'deploy-old'));
    await deploys.record('prod/web', entry(sha, 'sha256:new', 'deploy-new'));
    await store.noteDeploy('acme/web', sha, 'prod/web', {
      name: 'web',
      state: 'deployed',
      digest: 'sha256:0',
    });
    // Recording the deploy rewrites the commit's check run: it now offers Roll back.
    await waitFor('a Roll back button on the check run', () =>
      runs
        .writes(sha)
        .at(-1)
        ?.actions?.find((a) => a.identifier === 'rollback'),
    );

    expect(await press('rollback', 'mallory')).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await deploys.pin('prod/web')).toBeUndefined();

    expect(await press('rollback', 'alice')).toBe(200);
    const pin = await waitFor('the pin', () => deploys.pin('prod/web'));
    expect(pin).toMatchObject({ sha: older, digest: 'sha256:old', by: 'alice' });
    const jobs = await queues.deploy.getJobs(['waiting', 'delayed', 'active', 'failed']);
    const rollback = jobs.find((j) => j.data.rollback?.service === 'prod/web');
    expect(rollback?.data).toMatchObject({
      sha: older,
      branch: 'live',
      rollback: { image: 'registry.test/acme/web@sha256:old', by: 'alice' },
    });
    expect(rollback?.id).not.toBe(deployJobId('spec', older, 'live'));
  });
});
