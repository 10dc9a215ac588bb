import type { Flavour } from '../config/schema.js';
import type { DriftWarning } from './warnings.js';

/** The docker contexts a flavour deploys to, each with the services there, in config order. */
export function flavourContexts(flavour: Flavour): Map<string, string[]> {
  const contexts = new Map<string, string[]>();
  const add = (context: string, service: string) => {
    const names = contexts.get(context) ?? [];
    if (!names.includes(service)) names.push(service);
    contexts.set(context, names);
  };
  for (const repo of flavour.repos)
    for (const build of repo.builds)
      if (build.kind === 'docker')
        for (const d of build.deployments) for (const s of d.services) add(s.context, s.name);
  for (const u of flavour.upstreams) for (const s of u.services) add(s.context, s.name);
  return contexts;
}

/** One probe's finding: why the context cannot be used, or nothing when its engine answered. */
export interface ContextProbe {
  context: string;
  services: readonly string[];
  problem?: string;
}

export function contextDrift(probes: readonly ContextProbe[]): DriftWarning[] {
  return probes.flatMap(({ context, services, problem }): DriftWarning[] =>
    problem
      ? [
          {
            kind: 'context-unreachable',
            subject: context,
            message: `docker context "${context}" cannot be reached, so ${services.join(', ')} cannot be deployed: ${problem}`,
          },
        ]
      : [],
  );
}
