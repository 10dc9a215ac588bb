import { describe, expect, it } from 'vitest';
import { deployment, docker, repo } from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex, type RepoEntry } from '../../src/config/repo-index.js';
import type { CommitEvent } from '../../src/plan/commit-event.js';
import { rebuildAs } from '../../src/plan/rebuild-as.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const OTHER = 'd6fde92930d4715a2b49857d24b940956b26d2d3';

const flavour = parseFlavour(
  {
    name: 'demo',
    baseUrl: 'http://x',
    repos: [
      repo('acme', 'web', [
        docker('Dockerfile', { deployments: [deployment('live', 'registry.test/acme/web:live')] }),
      ]),
    ],
  },
  'test',
);
const entry = buildRepoIndex(flavour).get('acme/web') as RepoEntry;

// What a re-run says of a commit: GitHub names the fork's branch, and lists no pull request.
const rerun = (ref: string): CommitEvent => ({
  owner: 'acme',
  name: 'web',
  cloneUrl: 'https://github.com/acme/web.git',
  sha: SHA,
  ref,
  fork: true,
  installationId: 1,
});

describe('rebuildAs', () => {
  it('rebuilds a commit no push made a branch head as an untrusted build', () => {
    const heads = { 'refs/pull/7/head': SHA, 'refs/heads/live': OTHER };
    expect(rebuildAs(entry, heads, rerun('refs/heads/live'))).toMatchObject({
      ref: 'refs/heads/live',
      fork: true,
    });
  });

  it("rebuilds the head of a deployment branch as that branch's push, whatever the re-run named", () => {
    const heads = { 'refs/pull/7/head': SHA, 'refs/heads/main': SHA, 'refs/heads/live': SHA };
    expect(rebuildAs(entry, heads, rerun('refs/pull/7/head'))).toMatchObject({
      ref: 'refs/heads/live',
      fork: false,
    });
  });

  it('rebuilds the head of another branch as its push, preferring the branch named', () => {
    const heads = { 'refs/heads/b': SHA, 'refs/heads/a': SHA };
    expect(rebuildAs(entry, heads, rerun('refs/heads/b'))).toMatchObject({
      ref: 'refs/heads/b',
      fork: false,
    });
    expect(rebuildAs(entry, heads, rerun('refs/pull/7/head'))).toMatchObject({
      ref: 'refs/heads/a',
      fork: false,
    });
  });
});
