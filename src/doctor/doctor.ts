import type { Logger } from 'pino';
import type { RepoIndex } from '../config/repo-index.js';
import type { Flavour } from '../config/schema.js';
import type { InstalledRepo } from '../github/installation-repos.js';
import type { DriftStore } from '../store/drift-store.js';
import { contextDrift, flavourContexts } from './context-drift.js';
import { duplicateServices } from './duplicate-services.js';
import {
  deploymentBranches,
  protectionDrift,
  type BranchProtection,
  type RequiredCheck,
} from './protection-drift.js';
import { repoDrift } from './repo-drift.js';
import type { DriftKind, DriftWarning } from './warnings.js';

export interface DoctorDeps {
  flavour: Flavour;
  index: RepoIndex;
  /** Every flavour this deployer knows (the built-in ones), to find services two claim. */
  known: readonly Flavour[];
  /** This App's id: a required `deployability` check may be pinned to one App. */
  appId: number;
  visibleRepos(): Promise<InstalledRepo[]>;
  requiredChecks(repo: InstalledRepo, branch: string): Promise<RequiredCheck[] | undefined>;
  /** Why a docker context cannot be used, or undefined when its engine answers. */
  probe(context: string): Promise<string | undefined>;
  store: DriftStore;
  log: Pick<Logger, 'info' | 'warn'>;
}

/** One part of the check-up, with the kinds of warning it alone decides. */
interface Check {
  name: string;
  kinds: DriftKind[];
  find(deps: DoctorDeps): Promise<DriftWarning[]>;
}

const CHECKS: Check[] = [
  {
    name: 'github',
    kinds: ['not-installed', 'not-configured', 'check-not-required', 'protection-unreadable'],
    find: githubDrift,
  },
  {
    name: 'services',
    kinds: ['duplicate-service'],
    find: async (deps) => duplicateServices(deps.flavour, deps.known),
  },
  { name: 'contexts', kinds: ['context-unreachable'], find: unreachableContexts },
];

/**
 * Compares the flavour with what GitHub and the docker contexts say, records the
 * warnings, logs those seen for the first time and those gone. A check that
 * fails (GitHub down) keeps its previous warnings. Returns how many are new.
 */
export async function runDoctor(deps: DoctorDeps): Promise<number> {
  const results = await Promise.allSettled(CHECKS.map((check) => check.find(deps)));
  let added = 0;
  for (const [i, result] of results.entries()) {
    const check = CHECKS[i];
    if (result.status === 'rejected') {
      const reason = (result.reason as Error)?.message ?? String(result.reason);
      deps.log.warn({ check: check.name, reason }, 'drift check failed');
      continue;
    }
    const change = await deps.store.update(check.kinds, result.value);
    for (const w of change.added)
      deps.log.warn({ kind: w.kind, subject: w.subject, warning: w.message }, 'drift warning');
    for (const w of change.cleared)
      deps.log.info({ kind: w.kind, subject: w.subject }, 'drift warning cleared');
    added += change.added.length;
  }
  return added;
}

async function githubDrift(deps: DoctorDeps): Promise<DriftWarning[]> {
  const visible = await deps.visibleRepos();
  const byName = new Map(visible.map((r) => [r.fullName.toLowerCase(), r]));
  const entries = [...deps.index.values()];
  const branches: BranchProtection[] = [];
  for (const entry of entries) {
    const repo = byName.get(entry.fullName.toLowerCase());
    if (!repo) continue; // not installed: warned about, and nothing to ask GitHub
    for (const branch of deploymentBranches(entry))
      branches.push({
        repo: entry.fullName,
        branch,
        checks: await deps.requiredChecks(repo, branch),
      });
  }
  return [
    ...repoDrift(
      entries.map((e) => e.fullName),
      visible.map((r) => r.fullName),
      deps.flavour.name,
    ),
    ...protectionDrift(branches, deps.appId),
  ];
}

async function unreachableContexts(deps: DoctorDeps): Promise<DriftWarning[]> {
  const probes = await Promise.all(
    [...flavourContexts(deps.flavour)].map(async ([context, services]) => ({
      context,
      services,
      problem: await deps.probe(context),
    })),
  );
  return contextDrift(probes);
}
