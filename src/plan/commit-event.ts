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

const pullRequestSchema = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.object({
    head: z.object({
      sha,
      repo: z.object({ clone_url: z.url(), full_name: z.string() }).nullable(),
    }),
    base: z.object({ repo: z.object({ full_name: z.string() }) }),
  }),
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
  const { head, base: target } = p.data.pull_request;
  const fork =
    head.repo === null || head.repo.full_name.toLowerCase() !== target.repo.full_name.toLowerCase();
  return {
    commit: {
      ...base(p.data.repository, p.data.installation),
      sha: head.sha,
      ref: `refs/pull/${p.data.number}/head`,
      fork,
    },
  };
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
