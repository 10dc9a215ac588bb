import { z } from 'zod';
import { isValidRefName } from './ref-name.js';

/** A commit that should be checked, whatever event announced it. */
export interface CommitEvent {
  owner: string;
  name: string;
  cloneUrl: string;
  sha: string;
  /** `refs/heads/<branch>` or `refs/pull/<n>/head`: what a newer commit supersedes. */
  ref: string;
  /** Built from another repository (a fork's PR): never given credentials, never deployed. */
  fork: boolean;
  installationId: number;
}

export type Parsed = { commit: CommitEvent } | { ignore: string };

const sha = z.string().regex(/^[0-9a-f]{40}$/);
const repository = z.object({
  name: z.string().min(1).max(100),
  owner: z.object({ login: z.string().min(1).max(100) }),
  clone_url: z.url(),
});
const installation = z.object({ id: z.number().int().positive() });

const pushSchema = z.object({
  ref: z.string().max(300).refine(isValidRefName, 'a valid git ref name'),
  after: sha,
  deleted: z.boolean().optional(),
  repository,
  installation,
});

/** A pull request's head and base, as its webhook and GitHub's list of pull requests both carry them. */
const pullRequestRefs = z.object({
  head: z.object({
    sha,
    repo: z.object({ clone_url: z.url(), full_name: z.string() }).nullable(),
  }),
  base: z.object({ repo: z.object({ full_name: z.string() }) }),
});

const pullRequestSchema = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: pullRequestRefs,
  repository,
  installation,
});

const rerequestSchema = z.object({
  head_sha: sha,
  head_branch: z
    .string()
    .max(300)
    .refine(isValidRefName, 'a valid git branch name')
    .nullable()
    .optional(),
  pull_requests: z.array(z.object({ number: z.number().int().positive() })).optional(),
});

const checkRunSchema = z.object({
  check_run: z.object({ name: z.string(), check_suite: rerequestSchema }),
  repository,
  installation,
});
const checkSuiteSchema = z.object({ check_suite: rerequestSchema, repository, installation });

const BRANCH_PREFIX = 'refs/heads/';
const PR_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

function base(payload: z.infer<typeof pushSchema>['repository'], inst: { id: number }) {
  return {
    owner: payload.owner.login,
    name: payload.name,
    cloneUrl: payload.clone_url,
    installationId: inst.id,
  };
}

export function parsePush(payload: unknown): Parsed {
  const p = pushSchema.safeParse(payload);
  if (!p.success) return { ignore: `malformed push payload: ${z.prettifyError(p.error)}` };
  const { ref, after, deleted } = p.data;
  if (!ref.startsWith(BRANCH_PREFIX)) return { ignore: `not a branch: ${ref}` };
  if (deleted || /^0+$/.test(after)) return { ignore: `branch deleted: ${ref}` };
  return {
    commit: { ...base(p.data.repository, p.data.installation), sha: after, ref, fork: false },
  };
}

export function parsePullRequest(payload: unknown): Parsed {
  const p = pullRequestSchema.safeParse(payload);
  if (!p.success) return { ignore: `malformed pull_request payload: ${z.prettifyError(p.error)}` };
  if (!PR_ACTIONS.has(p.data.action)) return { ignore: `pull_request action ${p.data.action}` };
  const { repository: repo, installation: inst, number, pull_request: pr } = p.data;
  return { commit: pullRequestCommit(base(repo, inst), number, pr) };
}

/**
 * The commit of a pull request: its head, checked under `refs/pull/<n>/head` and
 * fetched from the base repository; a head from another repository (or one that is
 * gone) is a fork's.
 */
function pullRequestCommit(
  repo: ReturnType<typeof base>,
  number: number,
  { head, base: target }: z.infer<typeof pullRequestRefs>,
): CommitEvent {
  const fork =
    head.repo === null || head.repo.full_name.toLowerCase() !== target.repo.full_name.toLowerCase();
  return { ...repo, sha: head.sha, ref: `refs/pull/${number}/head`, fork };
}

const listedBranchSchema = z.object({
  name: z.string().max(300).refine(isValidRefName, 'a valid git branch name'),
  commit: z.object({ sha }),
});

const listedPullRequestSchema = pullRequestRefs.extend({
  number: z.number().int().positive(),
  state: z.literal('open'),
  base: z.object({ repo: repository.extend({ full_name: z.string() }) }),
});

/** A repository the App can see, as the lists of its branches and pull requests are read. */
export interface ListedRepo {
  owner: string;
  name: string;
  cloneUrl: string;
  installationId: number;
}

/**
 * A branch as GET /repos/{owner}/{repo}/branches lists it: the commit a push of its
 * head would bring.
 */
export function parseListedBranch(repo: ListedRepo, branch: unknown): Parsed {
  const p = listedBranchSchema.safeParse(branch);
  if (!p.success) return { ignore: `malformed branch: ${z.prettifyError(p.error)}` };
  const { owner, name, cloneUrl, installationId } = repo;
  const ref = `${BRANCH_PREFIX}${p.data.name}`;
  return {
    commit: { owner, name, cloneUrl, installationId, sha: p.data.commit.sha, ref, fork: false },
  };
}

/**
 * An open pull request as GET /repos/{owner}/{repo}/pulls lists it: the commit its
 * `pull_request` webhook would bring, a fork's included.
 */
export function parseListedPullRequest(installationId: number, pull: unknown): Parsed {
  const p = listedPullRequestSchema.safeParse(pull);
  if (!p.success) return { ignore: `malformed pull request: ${z.prettifyError(p.error)}` };
  const repo = base(p.data.base.repo, { id: installationId });
  return { commit: pullRequestCommit(repo, p.data.number, p.data) };
}

/** "Re-run" in GitHub: the commit of the suite, on its branch or its pull request. */
export function parseRerequest(payload: unknown, checkName: string): Parsed {
  const run = checkRunSchema.safeParse(payload);
  const suite = run.success ? undefined : checkSuiteSchema.safeParse(payload);
  if (run.success && run.data.check_run.name !== checkName) {
    return { ignore: `check run ${run.data.check_run.name} is not ours` };
  }
  const data = run.success
    ? { ...run.data, suite: run.data.check_run.check_suite }
    : suite?.success
      ? { ...suite.data, suite: suite.data.check_suite }
      : undefined;
  if (!data) return { ignore: 'malformed rerequested payload' };
  const pr = data.suite.pull_requests?.[0];
  const ref = pr
    ? `refs/pull/${pr.number}/head`
    : `${BRANCH_PREFIX}${data.suite.head_branch ?? data.suite.head_sha}`;
  return {
    commit: {
      ...base(data.repository, data.installation),
      sha: data.suite.head_sha,
      ref,
      // A fork's branch looks like ours here; the record of the first build says
      // which it was, and until it is read the commit gets no credentials.
      fork: true,
    },
  };
}

export const branchOf = (ref: string): string | undefined =>
  ref.startsWith(BRANCH_PREFIX) ? ref.slice(BRANCH_PREFIX.length) : undefined;
