import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { restExample } from '../helpers/github-examples.js';
import {
  branchOf,
  parseListedBranch,
  parseListedPullRequest,
  parsePullRequest,
  parsePush,
  parseRerequest,
  type Parsed,
} from '../../src/plan/commit-event.js';

type Payload = Record<string, unknown>;
interface Definition {
  name: string;
  examples: Payload[];
}

// Real payloads, as GitHub documents them, read from node_modules at test time.
const definitions = createRequire(import.meta.url)('@octokit/webhooks-examples') as Definition[];

/** A copy of the first example of `event` that matches, so tests may change it. */
function example(event: string, match: (p: Payload) => boolean): Payload {
  const found = definitions.find((d) => d.name === event)?.examples.find(match);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

const get = (p: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o as Payload | undefined)?.[k], p);

/** A copy of `payload` with the value at the dotted `path` replaced (or removed, for undefined). */
function withValue(payload: Payload, path: string, value: unknown): Payload {
  const copy = structuredClone(payload);
  const keys = path.split('.');
  const last = keys.pop()!;
  const parent = keys.reduce<Payload>((o, k) => o[k] as Payload, copy);
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return copy;
}

const installed = (p: Payload): boolean => p.installation !== undefined;
const action = (a: string) => (p: Payload) => p.action === a && installed(p);

const branchPush = example('push', (p) => p.ref === 'refs/heads/master' && installed(p));
const tagPush = withValue(
  example('push', (p) => p.ref === 'refs/tags/simple-tag' && p.deleted === false),
  'installation',
  { id: 7 },
);
const opened = example('pull_request', action('opened'));
const synchronize = example('pull_request', action('synchronize'));
const reopened = example('pull_request', action('reopened'));
const closed = example('pull_request', action('closed'));
const runRerequested = example('check_run', action('rerequested'));
const suiteRerequested = example('check_suite', action('rerequested'));

const HELLO = {
  owner: 'Codertocat',
  name: 'Hello-World',
  cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
  installationId: 1,
};
const PR_SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

function ignoreReason(parsed: Parsed): string {
  if (!('ignore' in parsed)) throw new Error(`expected {ignore}, got ${JSON.stringify(parsed)}`);
  return parsed.ignore;
}

describe('parsePush', () => {
  it('turns a branch push into a commit', () => {
    expect(parsePush(branchPush)).toEqual({
      commit: {
        ...HELLO,
        sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        ref: 'refs/heads/master',
        fork: false,
      },
    });
  });

  it('ignores a tag push', () => {
    expect(parsePush(tagPush)).toEqual({ ignore: 'not a branch: refs/tags/simple-tag' });
  });

  it('ignores a branch deletion, flagged or all-zero', () => {
    const deleted = withValue(
      withValue(branchPush, 'deleted', true),
      'after',
      '0000000000000000000000000000000000000000',
    );
    expect(parsePush(deleted)).toEqual({ ignore: 'branch deleted: refs/heads/master' });
    expect(parsePush(withValue(deleted, 'deleted', undefined))).toEqual({
      ignore: 'branch deleted: refs/heads/master',
    });
  });

  it('ignores a push without an installation (the App is not installed)', () => {
    expect(ignoreReason(parsePush(withValue(branchPush, 'installation', undefined)))).toBe(
      'malformed push payload: ✖ Invalid input: expected object, received undefined\n  → at installation',
    );
  });

  it('ignores malformed payloads without throwing', () => {
    expect(ignoreReason(parsePush(withValue(branchPush, 'after', 'ABCDEF'.padEnd(40, '0'))))).toBe(
      'malformed push payload: ✖ Invalid string: must match pattern /^[0-9a-f]{40}$/\n  → at after',
    );
    expect(ignoreReason(parsePush(withValue(branchPush, 'ref', 42)))).toBe(
      'malformed push payload: ✖ Invalid input: expected string, received number\n  → at ref',
    );
    expect(ignoreReason(parsePush(withValue(branchPush, 'repository.owner', undefined)))).toBe(
      'malformed push payload: ✖ Invalid input: expected object, received undefined\n  → at repository.owner',
    );
    expect(ignoreReason(parsePush(withValue(branchPush, 'installation.id', '1')))).toBe(
      'malformed push payload: ✖ Invalid input: expected number, received string\n  → at installation.id',
    );
    expect(ignoreReason(parsePush(withValue(branchPush, 'repository.clone_url', 'nope')))).toBe(
      'malformed push payload: ✖ Invalid URL\n  → at repository.clone_url',
    );
    for (const junk of [null, undefined, 'push', 42, [], {}]) {
      expect(ignoreReason(parsePush(junk))).toMatch(/^malformed push payload: ✖ /);
    }
  });

  it('ignores a 1 MB ref, quoting none of it', () => {
    const reason = ignoreReason(
      parsePush(withValue(branchPush, 'ref', `refs/heads/${'a'.repeat(1024 * 1024)}`)),
    );
    expect(reason).toBe(
      'malformed push payload: ✖ Too big: expected string to have <=300 characters\n  → at ref',
    );
  });
});

describe('parsePullRequest', () => {
  it.each([
    ['opened', opened],
    ['synchronize', synchronize],
    ['reopened', reopened],
  ])('builds the head of a %s pull request on refs/pull/<n>/head', (_, payload) => {
    expect(parsePullRequest(payload)).toEqual({
      commit: { ...HELLO, sha: PR_SHA, ref: 'refs/pull/2/head', fork: false },
    });
  });

  it('ignores a closed pull request', () => {
    expect(get(closed, 'action')).toBe('closed');
    expect(parsePullRequest(closed)).toEqual({ ignore: 'pull_request action closed' });
  });

  it('marks a pull request from a fork as a fork, cloning from the base repository', () => {
    const fork = withValue(opened, 'pull_request.head.repo.full_name', 'contributor/Hello-World');
    expect(parsePullRequest(fork)).toEqual({
      commit: { ...HELLO, sha: PR_SHA, ref: 'refs/pull/2/head', fork: true },
    });
  });

  it('treats a pull request whose head repository is gone as a fork', () => {
    const gone = withValue(opened, 'pull_request.head.repo', null);
    expect(parsePullRequest(gone)).toEqual({
      commit: { ...HELLO, sha: PR_SHA, ref: 'refs/pull/2/head', fork: true },
    });
  });

  it('compares repository names case-insensitively', () => {
    const sameRepo = withValue(
      opened,
      'pull_request.head.repo.full_name',
      'codertocat/hello-world',
    );
    expect(parsePullRequest(sameRepo)).toMatchObject({ commit: { fork: false } });
  });

  it('ignores malformed payloads without throwing', () => {
    expect(ignoreReason(parsePullRequest(withValue(opened, 'number', -2)))).toBe(
      'malformed pull_request payload: ✖ Too small: expected number to be >0\n  → at number',
    );
    expect(ignoreReason(parsePullRequest(withValue(opened, 'pull_request.head.sha', 'main')))).toBe(
      'malformed pull_request payload: ✖ Invalid string: must match pattern /^[0-9a-f]{40}$/\n  → at pull_request.head.sha',
    );
    expect(ignoreReason(parsePullRequest(withValue(opened, 'pull_request', null)))).toBe(
      'malformed pull_request payload: ✖ Invalid input: expected object, received null\n  → at pull_request',
    );
    for (const junk of [null, undefined, 'pr', [], {}]) {
      expect(ignoreReason(parsePullRequest(junk))).toMatch(/^malformed pull_request payload: ✖ /);
    }
  });
});

describe('parseListedBranch (GET /repos/{owner}/{repo}/branches)', () => {
  const [listed] = restExample<Payload[]>('GET', '/repos/{owner}/{repo}/branches');
  const octocat = {
    ...HELLO,
    owner: 'octocat',
    cloneUrl: 'https://github.com/octocat/Hello-World.git',
  };

  it('takes a branch as a push of its head would bring it', () => {
    expect(parseListedBranch(octocat, listed)).toEqual({
      commit: {
        ...octocat,
        sha: 'c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc',
        ref: 'refs/heads/master',
        fork: false,
      },
    });
  });

  it('ignores a malformed entry and a name git would refuse', () => {
    expect(ignoreReason(parseListedBranch(octocat, withValue(listed, 'name', 'a..b')))).toMatch(
      /^malformed branch: ✖ a valid git branch name/,
    );
    expect(ignoreReason(parseListedBranch(octocat, withValue(listed, 'commit', null)))).toMatch(
      /^malformed branch: /,
    );
    for (const junk of [null, 'main', {}])
      expect(parseListedBranch(octocat, junk)).toHaveProperty('ignore');
  });
});

describe('parseListedPullRequest (GET /repos/{owner}/{repo}/pulls)', () => {
  const [listed] = restExample<Payload[]>('GET', '/repos/{owner}/{repo}/pulls');
  const octocat = {
    ...HELLO,
    owner: 'octocat',
    cloneUrl: 'https://github.com/octocat/Hello-World.git',
    installationId: 9,
  };
  const head = { sha: '6dcb09b5b57875f334f61aebed695e2e4193db5e', ref: 'refs/pull/1347/head' };

  it('takes an open pull request as its pull_request webhook would bring it', () => {
    expect(parseListedPullRequest(9, listed)).toEqual({
      commit: { ...octocat, ...head, fork: false },
    });
  });

  it('marks a fork’s pull request (or one whose fork is gone) as a fork, cloned from the base repository', () => {
    const fork = withValue(listed, 'head.repo.full_name', 'contributor/Hello-World');
    expect(parseListedPullRequest(9, fork)).toEqual({
      commit: { ...octocat, ...head, fork: true },
    });
    const gone = withValue(listed, 'head.repo', null);
    expect(parseListedPullRequest(9, gone)).toEqual({
      commit: { ...octocat, ...head, fork: true },
    });
  });

  it('agrees with parsePullRequest on the same pull request', () => {
    for (const prHead of [listed.head, { ...(listed.head as Payload), repo: null }]) {
      const pr: Payload = { ...listed, head: prHead };
      const webhook = {
        action: 'opened',
        number: pr.number,
        pull_request: pr,
        repository: (pr.base as Payload).repo,
        installation: { id: 9 },
      };
      expect(parseListedPullRequest(9, pr)).toEqual(parsePullRequest(webhook));
    }
  });

  it('ignores a closed or malformed entry', () => {
    expect(ignoreReason(parseListedPullRequest(9, withValue(listed, 'state', 'closed')))).toMatch(
      /^malformed pull request: .*\n {2}→ at state/,
    );
    expect(ignoreReason(parseListedPullRequest(9, withValue(listed, 'head.sha', 'main')))).toMatch(
      /^malformed pull request: /,
    );
    for (const junk of [null, 7, {}])
      expect(parseListedPullRequest(9, junk)).toHaveProperty('ignore');
  });
});

describe('parseRerequest', () => {
  it('rebuilds the commit of a re-requested check run on its branch', () => {
    const name = get(runRerequested, 'check_run.name') as string;
    expect(parseRerequest(runRerequested, name)).toEqual({
      commit: {
        owner: 'github',
        name: 'hello-world',
        cloneUrl: 'http://github.com/github/hello-world.git',
        installationId: 1,
        sha: 'd6fde92930d4715a2b49857d24b940956b26d2d3',
        ref: 'refs/heads/master',
        fork: true,
      },
    });
  });

  it('ignores a re-requested check run of another app', () => {
    expect(parseRerequest(runRerequested, 'deployability')).toEqual({
      ignore: 'check run randscape is not ours',
    });
  });

  it('rebuilds the commit of a re-requested check suite on its pull request', () => {
    expect(parseRerequest(suiteRerequested, 'deployability')).toEqual({
      commit: {
        ...HELLO,
        installationId: 957387,
        sha: PR_SHA,
        ref: 'refs/pull/2/head',
        fork: true,
      },
    });
  });

  it('uses the branch of a suite without pull requests', () => {
    const onBranch = withValue(suiteRerequested, 'check_suite.pull_requests', []);
    expect(parseRerequest(onBranch, 'deployability')).toMatchObject({
      commit: { sha: PR_SHA, ref: 'refs/heads/changes' },
    });
  });

  it('ignores malformed payloads without throwing', () => {
    const malformed = { ignore: 'malformed rerequested payload' };
    for (const junk of [
      null,
      undefined,
      'rerun',
      [],
      {},
      withValue(suiteRerequested, 'check_suite.head_sha', 'HEAD'),
      withValue(suiteRerequested, 'check_suite.head_branch', 7),
      withValue(suiteRerequested, 'installation', undefined),
      withValue(runRerequested, 'check_run.check_suite', null),
      withValue(suiteRerequested, 'check_suite.head_branch', 'x'.repeat(1024 * 1024)),
    ]) {
      expect(parseRerequest(junk, 'deployability')).toEqual(malformed);
    }
  });
});

describe('branchOf', () => {
  it('names the branch of a branch ref only', () => {
    expect(branchOf('refs/heads/feature/x')).toBe('feature/x');
    expect(branchOf('refs/pull/2/head')).toBeUndefined();
    expect(branchOf('refs/tags/v1')).toBeUndefined();
  });
});
