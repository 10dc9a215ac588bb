import { createRequire } from 'node:module';

// Real webhook payloads (@octokit/webhooks-examples), adapted to a watched repository.
const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Record<string, unknown>[];
}[];

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The first example of `event` (with `action` when given), deep-copied. */
export function example(event: string, action?: string): Payload {
  const found = examples
    .find((e) => e.name === event)
    ?.examples.find((p) => action === undefined || p.action === action);
  if (!found) throw new Error(`no example payload for ${event}${action ? `.${action}` : ''}`);
  return structuredClone(found) as Payload;
}

export interface RepoRef {
  owner: string;
  name: string;
  cloneUrl: string;
  installationId?: number;
}

function retarget(payload: Payload, repo: RepoRef): Payload {
  payload.repository.name = repo.name;
  payload.repository.full_name = `${repo.owner}/${repo.name}`;
  payload.repository.owner.login = repo.owner;
  payload.repository.clone_url = repo.cloneUrl;
  payload.installation = {
    id: repo.installationId ?? 42,
    node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==',
  };
  return payload;
}

export function pushPayload(
  repo: RepoRef,
  branch: string,
  sha: string,
  before = '0'.repeat(40),
): Payload {
  const p = retarget(example('push'), repo);
  Object.assign(p, {
    ref: `refs/heads/${branch}`,
    before,
    after: sha,
    deleted: false,
    created: false,
  });
  return p;
}

export function pullRequestPayload(
  repo: RepoRef,
  action: 'opened' | 'synchronize' | 'reopened' | 'closed',
  number: number,
  sha: string,
  fromFork = false,
): Payload {
  const p = retarget(example('pull_request', action), repo);
  p.number = number;
  p.pull_request.number = number;
  p.pull_request.head.sha = sha;
  p.pull_request.head.repo = {
    ...p.repository,
    full_name: fromFork ? `contributor/${repo.name}` : `${repo.owner}/${repo.name}`,
    clone_url: fromFork ? `https://example.invalid/contributor/${repo.name}.git` : repo.cloneUrl,
  };
  p.pull_request.base.repo = { ...p.repository };
  return p;
}

export function rerequestPayload(
  repo: RepoRef,
  kind: 'check_run' | 'check_suite',
  sha: string,
  branch: string,
): Payload {
  const p = retarget(example(kind, 'rerequested'), repo);
  const suite = kind === 'check_run' ? p.check_run.check_suite : p.check_suite;
  suite.head_sha = sha;
  suite.head_branch = branch;
  suite.pull_requests = [];
  if (kind === 'check_run') {
    p.check_run.name = 'deployability';
    p.check_run.head_sha = sha;
  }
  return p;
}
