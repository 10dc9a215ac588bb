import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHS } from '../../src/config/schema.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { runIntake, type RunningIntake } from '../helpers/intake.js';
import { pushPayload } from '../helpers/payloads.js';

const sha = (): string => randomUUID().replace(/-/g, '').padEnd(40, '0');

// GitHub does not promise to deliver webhooks in order: an older push's delivery can
// arrive after a newer one's, and must not move the branch back.
describe('push deliveries out of order', () => {
  let h: Harness;
  let intake: RunningIntake;
  const web = { owner: 'acme', name: 'web', cloneUrl: 'https://github.com/acme/web.git' };

  beforeAll(async () => {
    h = await startHarness(
      testFlavour({
        repos: [
          testRepo('acme/web', {
            deployments: [{ branch: 'live', target: '127.0.0.1:5000/acme/web:live' }],
          }),
        ],
      }),
      { worker: false },
    );
    // The intake a worker runs; no builds run, so every build job stays as intake left it.
    intake = runIntake(h.deployer.runtime);
  });
  afterAll(async () => {
    await intake?.close();
    await h?.close();
  });

  /** Sends the push `before` → `after` on `branch` and waits until its commit is taken in. */
  async function push(branch: string, before: string, after: string): Promise<void> {
    const res = await h.send('push', pushPayload(web, branch, after, before));
    expect(res.status).toBe(200);
    await intake.settled();
  }

  const head = async (branch: string) =>
    (await h.deployer.runtime.store.heads('acme/web'))[`refs/heads/${branch}`];

  /** Build jobs of `commit` in any pool, with their state. */
  async function builds(commit: string): Promise<string[]> {
    const states: string[] = [];
    for (const arch of ARCHS) {
      for (const job of await h.deployer.runtime.queues.build(arch).getJobs()) {
        if (job.data.sha === commit) states.push(await job.getState());
      }
    }
    return states;
  }

  const statuses = async (commit: string) =>
    (await h.deployer.runtime.store.records('acme/web', commit)).map((r) => r.status);

  it('a push B→C, then the older A→B: the head stays C and B is never built', async () => {
    const [a, b, c] = [sha(), sha(), sha()];
    await push('live', b, c);
    expect(await head('live')).toBe(c);
    expect(await builds(c)).toEqual(['waiting']);

    await push('live', a, b);
    expect(await head('live')).toBe(c);
    expect(await builds(b)).toEqual([]);
    expect(await h.deployer.runtime.store.meta('acme/web', b)).toBeUndefined();
    expect(await statuses(b)).toEqual([]);
    // C was not superseded by it.
    expect(await builds(c)).toEqual(['waiting']);
    expect(await statuses(c)).toEqual(['queued']);
    const syncs = (await h.deployer.runtime.queues.checks.getJobs()).map((j) => j.data.sha);
    expect(syncs).not.toContain(b);
  });

  it('in order, A→B then B→C: C supersedes B', async () => {
    const [a, b, c] = [sha(), sha(), sha()];
    await push('main', a, b);
    await push('main', b, c);
    expect(await head('main')).toBe(c);
    expect(await builds(b)).toEqual([]); // its waiting build was removed
    expect(await statuses(b)).toEqual(['cancelled']);
    expect(await builds(c)).toEqual(['delayed']); // it found B building: it waits for more
  });

  it('a force-push back to a former head (C→B) is taken: it continues from the head', async () => {
    const [a, b, c] = [sha(), sha(), sha()];
    await push('revert', a, b);
    await push('revert', b, c);
    await push('revert', c, b);
    expect(await head('revert')).toBe(b);
    expect(await statuses(c)).toEqual(['cancelled']);
    // B's build had been cancelled by C; the head moving back to B does not rebuild it
    // by itself (as before), but B is the head again, so a deploy of it is not skipped.
    expect(await h.deployer.runtime.store.meta('acme/web', b)).toMatchObject({
      ref: 'refs/heads/revert',
    });
  });

  it('a new branch (before 000…) and other branches are not held back by another ref’s record', async () => {
    const [b, c] = [sha(), sha()];
    await push('one', sha(), b);
    await push('one', b, c);
    // `b` was moved away from on "one", not on "two".
    await push('two', '0'.repeat(40), b);
    expect(await head('two')).toBe(b);
  });
});
