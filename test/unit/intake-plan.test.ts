import { describe, expect, it } from 'vitest';
import { deployment, docker, repo } from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex, type RepoEntry } from '../../src/config/repo-index.js';
import type { CommitEvent } from '../../src/plan/commit-event.js';
import { COALESCE_MS, coalesceDelay, decideIntake } from '../../src/plan/intake.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const OLD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

const entry = buildRepoIndex(
  parseFlavour(
    {
      name: 'demo',
      baseUrl: 'http://x',
      repos: [
        repo('acme', 'web', [
          docker('Dockerfile', {
            deployments: [deployment('live', 'registry.test/acme/web:live')],
          }),
        ]),
      ],
    },
    'test',
  ),
).get('acme/web') as RepoEntry;

const event = (over: Partial<CommitEvent> = {}): CommitEvent => ({
  owner: 'acme',
  name: 'web',
  cloneUrl: 'https://github.com/acme/web.git',
  sha: SHA,
  ref: 'refs/heads/live',
  fork: false,
  installationId: 1,
  ...over,
});

describe('decideIntake', () => {
  it('takes a push as it came, keeps what GitHub shows, and supersedes the ref’s last head', () => {
    const known = {
      ref: 'refs/pull/7/head',
      fork: true,
      cloneUrl: 'https://github.com/acme/web.git',
      installationId: 1,
      checkRunId: 5,
      lastWritten: '{}',
    };
    const decision = decideIntake(entry, {
      commit: event(),
      rebuild: false,
      heads: { 'refs/heads/live': OLD, 'refs/pull/7/head': SHA },
      known,
    });
    // A fork's pull request brought the commit first: the push decides, not the record.
    expect(decision.event).toMatchObject({ ref: 'refs/heads/live', fork: false });
    expect(decision.meta).toMatchObject({ fork: false, checkRunId: 5, lastWritten: '{}' });
    expect(decision.superseded).toBe(OLD);
  });

  it('re-runs a commit with a fresh check run and supersedes nothing', () => {
    const decision = decideIntake(entry, {
      commit: event({ fork: true }),
      rebuild: true,
      heads: { 'refs/heads/live': SHA },
      known: {
        ref: 'refs/heads/live',
        fork: false,
        cloneUrl: 'x',
        installationId: 1,
        checkRunId: 5,
      },
    });
    expect(decision.event).toMatchObject({ ref: 'refs/heads/live', fork: false });
    expect(decision.meta.checkRunId).toBeUndefined();
    expect(decision.superseded).toBeUndefined();
  });
});

describe('coalesceDelay', () => {
  it('waits only for a branch push whose superseded commit still builds', () => {
    expect(coalesceDelay(event(), true)).toBe(COALESCE_MS);
    expect(coalesceDelay(event(), false)).toBe(0);
    expect(coalesceDelay(event({ ref: 'refs/pull/3/head' }), true)).toBe(0);
  });
});
