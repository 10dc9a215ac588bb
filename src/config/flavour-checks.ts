import { formatPath } from './load.js';
import { repoKey } from './repo-index.js';
import type { Flavour, Service } from './schema.js';

/**
 * Something a valid flavour gets wrong as a whole. Errors make a deploy go wrong
 * (two deployments overwriting one service, a setting silently ignored); warnings
 * may be right where the deployer runs but not here (a docker context this
 * machine does not have), or are only untidy.
 */
export interface Finding {
  severity: 'error' | 'warning';
  /** Where in the file, e.g. `repos[1].builds[0].deployments[0].services[0].name`. */
  path: string;
  message: string;
}

/** Why a docker context cannot be used on this machine, or undefined when it can. */
export type ContextProblem = (name: string) => string | undefined;

interface Deployed {
  path: (string | number)[];
  what: string;
  /** Who deploys it, for the message about a second one. */
  by: string;
}

const SERVICE_KINDS: Record<Service['kind'], string> = {
  swarm: 'Swarm service',
  stack: 'stack',
  compose: 'compose project',
};

function* serviceTargets(flavour: Flavour): Generator<Deployed & { context?: string }> {
  for (const [r, repo] of flavour.repos.entries()) {
    for (const [b, build] of repo.builds.entries()) {
      for (const [d, deployment] of build.deployments.entries()) {
        const at = ['repos', r, 'builds', b, 'deployments', d];
        const by = `${repo.owner}/${repo.name} branch ${deployment.branch}`;
        if (!('services' in deployment)) {
          const what = `unikernel "${deployment.service}" on host ${deployment.host}`;
          yield { path: at, what, by };
          continue;
        }
        for (const [s, service] of deployment.services.entries()) {
          const what = `${SERVICE_KINDS[service.kind]} "${service.name}" on docker context "${service.context}"`;
          yield { path: [...at, 'services', s], what, by, context: service.context };
        }
      }
    }
  }
  for (const [u, upstream] of flavour.upstreams.entries()) {
    for (const [s, service] of upstream.services.entries()) {
      const what = `${SERVICE_KINDS[service.kind]} "${service.name}" on docker context "${service.context}"`;
      const by = `upstream image ${upstream.image}`;
      yield { path: ['upstreams', u, 'services', s], what, by, context: service.context };
    }
  }
}

function repeatedRepos(flavour: Flavour): Finding[] {
  const first = new Map<string, number>();
  const findings: Finding[] = [];
  for (const [i, repo] of flavour.repos.entries()) {
    const key = repoKey(repo.owner, repo.name);
    const j = first.get(key);
    if (j === undefined) {
      first.set(key, i);
      continue;
    }
    const earlier = flavour.repos[j];
    findings.push({
      severity: 'warning',
      path: `repos[${i}]`,
      message: `${repo.owner}/${repo.name} is listed again (first at repos[${j}]): its builds are merged into that entry`,
    });
    if (repo.cloneUrl !== earlier.cloneUrl) {
      findings.push({
        severity: 'error',
        path: `repos[${i}].cloneUrl`,
        message: `differs from repos[${j}].cloneUrl (${earlier.cloneUrl ?? 'unset'}), which is the one used: give the repository once`,
      });
    }
  }
  return findings;
}

function sharedServices(flavour: Flavour): Finding[] {
  const first = new Map<string, Deployed>();
  const findings: Finding[] = [];
  for (const target of serviceTargets(flavour)) {
    const earlier = first.get(target.what);
    if (!earlier) {
      first.set(target.what, target);
      continue;
    }
    findings.push({
      severity: 'error',
      path: formatPath(target.path),
      message: `${target.what} is already deployed by ${formatPath(earlier.path)} (${earlier.by}): each deploy would undo the other's`,
    });
  }
  return findings;
}

function unknownContexts(flavour: Flavour, problem: ContextProblem): Finding[] {
  const uses = new Map<string, (string | number)[][]>();
  for (const { context, path } of serviceTargets(flavour)) {
    if (context !== undefined) uses.set(context, [...(uses.get(context) ?? []), path]);
  }
  const findings: Finding[] = [];
  for (const [context, paths] of uses) {
    const why = problem(context);
    if (why === undefined) continue;
    const others = paths.length - 1;
    const also = others ? ` (used by ${others} more service${others > 1 ? 's' : ''})` : '';
    findings.push({
      severity: 'warning',
      path: formatPath([...paths[0], 'context']),
      message: `${why}${also}`,
    });
  }
  return findings;
}

/** What a valid flavour gets wrong as a whole: repeated repositories, shared services, unknown contexts. */
export function checkFlavour(flavour: Flavour, contextProblem: ContextProblem): Finding[] {
  return [
    ...repeatedRepos(flavour),
    ...sharedServices(flavour),
    ...unknownContexts(flavour, contextProblem),
  ];
}

/** One line per finding, naming the file (or built-in flavour) and the key. */
export const formatFinding = (source: string, f: Finding): string =>
  `${source}: ${f.path}: ${f.severity === 'warning' ? 'warning: ' : ''}${f.message}`;
