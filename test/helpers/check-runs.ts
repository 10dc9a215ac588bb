import type { GitHubStandIn, RecordedRequest } from './github-stand-in.js';

export interface CheckRunBody {
  name?: string;
  head_sha?: string;
  status?: string;
  conclusion?: string;
  output?: { title: string; summary: string; text?: string };
  actions?: { identifier: string; label: string }[];
}

export interface CheckRuns {
  /** Ids of the check runs created for `sha`, in order. */
  created(sha: string): number[];
  /** Every write (create and updates) to the check runs of `sha`, in order. */
  writes(sha: string): CheckRunBody[];
  /** The latest check run of `sha` as last written, once it is concluded. */
  concluded(sha: string): CheckRunBody | undefined;
}

/** Answers check-run creations on the stand-in with ids it remembers per commit. */
export function trackCheckRuns(github: GitHubStandIn, firstId = 50_000): CheckRuns {
  const ids = new Map<string, number[]>();
  const idOf = new Map<RecordedRequest, number>();
  let next = firstId;
  github.route('POST', /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/, (req) => {
    const body = req.body as CheckRunBody;
    const id = next++;
    const sha = body.head_sha ?? '';
    ids.set(sha, [...(ids.get(sha) ?? []), id]);
    idOf.set(req, id);
    return { status: 201, body: { id, ...body } };
  });
  const runOf = (r: RecordedRequest): number | undefined =>
    r.method === 'POST' ? idOf.get(r) : Number(/\/check-runs\/(\d+)$/.exec(r.path)?.[1]);
  const requests = (sha: string, only?: number) =>
    github.requests.filter((r) => {
      const id = r.path.includes('/check-runs') ? runOf(r) : undefined;
      return id !== undefined && (ids.get(sha) ?? []).includes(id) && (only ?? id) === id;
    });
  return {
    created: (sha) => [...(ids.get(sha) ?? [])],
    writes: (sha) => requests(sha).map((r) => r.body as CheckRunBody),
    concluded: (sha) => {
      const latest = ids.get(sha)?.at(-1);
      if (latest === undefined) return undefined;
      const last = requests(sha, latest).at(-1)?.body as CheckRunBody | undefined;
      return last?.conclusion ? last : undefined;
    },
  };
}
