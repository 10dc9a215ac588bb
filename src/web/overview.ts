import { specPools, type BuildSpec, type RepoIndex } from '../config/repo-index.js';
import { DRIFT_LABELS } from '../doctor/warnings.js';
import type { Gates } from '../store/gates.js';
import type { BuildRecord, BuildStatus } from '../plan/check-run-output.js';
import type { CommitStore } from '../store/commit-store.js';
import type { DriftStore } from '../store/drift-store.js';
import { refLabel, shortSha, when, type When } from './format.js';
import { confirmView, type ConfirmView } from './confirm-level.js';

export interface PoolCell {
  pool: string;
  status?: BuildStatus;
  href?: string;
}

export interface RefRow {
  ref: string;
  label: string;
  kind: RefKind;
  short: string;
  cells: PoolCell[];
  when?: When;
}

export interface SpecView {
  label: string;
  pools: string[];
  rows: RefRow[];
}

export interface RepoView {
  fullName: string;
  specs: SpecView[];
}

export interface PendingView {
  href: string;
  jobId: string;
  op: string;
  description: string;
  since?: When;
}

export interface DriftView {
  kind: string;
  label: string;
  message: string;
  since?: When;
}

export interface OverviewModel {
  repos: RepoView[];
  /** Undefined when nothing is gated (no `--confirm`). */
  pending?: PendingView[];
  /** Undefined where no drift check runs (local mode). */
  drift?: DriftView[];
  /** The confirmation threshold; for viewers who see flavour-wide things. */
  confirm?: ConfirmView;
}

export type RefKind = 'deploy' | 'pr' | 'branch' | 'other';

export const jobHref = (jobId: string): string => `/jobs/${encodeURIComponent(jobId)}`;

/** The pools a spec is built on, as planBuilds chooses them. */
const deployBranches = (spec: BuildSpec): string[] => [
  ...new Set(spec.build.deployments.map((d) => d.branch)),
];

/** Deployment branches (in config order), then pull requests (newest first), then other branches. */
export function orderRefs(
  refs: readonly string[],
  deployments: readonly string[],
): { ref: string; kind: RefKind }[] {
  const deployRefs = deployments.map((b) => `refs/heads/${b}`);
  const prNumber = (ref: string) => Number(/^refs\/pull\/(\d+)\/head$/.exec(ref)?.[1] ?? NaN);
  const kind = (ref: string): RefKind =>
    deployRefs.includes(ref)
      ? 'deploy'
      : !Number.isNaN(prNumber(ref))
        ? 'pr'
        : ref.startsWith('refs/heads/')
          ? 'branch'
          : 'other';
  const rank: Record<RefKind, number> = { deploy: 0, pr: 1, branch: 2, other: 3 };
  return refs
    .map((ref) => ({ ref, kind: kind(ref) }))
    .sort(
      (a, b) =>
        rank[a.kind] - rank[b.kind] ||
        (a.kind === 'deploy' ? deployRefs.indexOf(a.ref) - deployRefs.indexOf(b.ref) : 0) ||
        (a.kind === 'pr' ? prNumber(b.ref) - prNumber(a.ref) : 0) ||
        a.ref.localeCompare(b.ref),
    );
}

function row(spec: BuildSpec, ref: string, kind: RefKind, sha: string, records: BuildRecord[]) {
  const mine = records.filter((r) => r.specKey === spec.key);
  const cells = specPools(spec).map((pool): PoolCell => {
    const r = mine.find((x) => x.pool === pool);
    return r ? { pool, status: r.status, href: jobHref(r.jobId) } : { pool };
  });
  const times = mine.map((r) => r.finishedAt ?? r.startedAt ?? r.queuedAt);
  return {
    ref,
    label: refLabel(ref),
    kind,
    short: shortSha(sha),
    cells,
    when: when(times.length ? Math.max(...times) : undefined),
  };
}

/** The overview: each repository's builds, each ref's latest commit and its build per pool. */
export async function overviewModel(
  deps: {
    index: RepoIndex;
    store: CommitStore;
    gates?: Gates;
    drift?: DriftStore;
  },
  /** What this viewer may see: repositories by name; no name = what concerns the whole flavour. */
  show: (repo: string | undefined) => boolean = () => true,
): Promise<OverviewModel> {
  const repos: RepoView[] = [];
  for (const entry of deps.index.values()) {
    if (!show(entry.fullName)) continue;
    const heads = await deps.store.heads(entry.fullName);
    const records = new Map<string, BuildRecord[]>();
    for (const sha of new Set(Object.values(heads)))
      records.set(sha, await deps.store.records(entry.fullName, sha));
    const specs = entry.specs.map((spec) => ({
      label: spec.label,
      pools: specPools(spec),
      rows: orderRefs(Object.keys(heads), deployBranches(spec)).map(({ ref, kind }) =>
        row(spec, ref, kind, heads[ref], records.get(heads[ref]) ?? []),
      ),
    }));
    repos.push({ fullName: entry.fullName, specs });
  }
  const pending = deps.gates
    ? (await deps.gates.pending())
        .filter((p) => show(p.repo))
        .map((p) => ({
          href: jobHref(p.jobId),
          jobId: p.jobId,
          op: p.op,
          description: p.description,
          since: when(p.since),
        }))
    : undefined;
  // Drift names repositories the viewer may not see: it is shown with the flavour-wide things.
  const drift = (show(undefined) ? await deps.drift?.current() : [])?.map((w) => ({
    kind: w.kind,
    label: DRIFT_LABELS[w.kind],
    message: w.message,
    since: when(w.since),
  }));
  const confirm =
    deps.gates && show(undefined) ? confirmView(await deps.gates.level.state()) : undefined;
  return { repos, pending, drift, confirm };
}
