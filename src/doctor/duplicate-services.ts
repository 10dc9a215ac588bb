import { buildRepoIndex } from '../config/repo-index.js';
import type { Flavour } from '../config/schema.js';
import { flavourServices } from '../web/services.js';
import type { DriftWarning } from './warnings.js';

/**
 * Services the running flavour deploys that another known flavour deploys too
 * (same docker context and service name, or same unikernel host and name): two
 * deployers would overwrite each other's deploys.
 */
export function duplicateServices(running: Flavour, known: readonly Flavour[]): DriftWarning[] {
  const others = known
    .filter((f) => f.name !== running.name)
    .map((f) => ({ name: f.name, keys: new Set(servicesOf(f).map((s) => s.key)) }));
  return servicesOf(running).flatMap((service): DriftWarning[] => {
    const claimants = others.filter((o) => o.keys.has(service.key)).map((o) => `"${o.name}"`);
    if (!claimants.length) return [];
    return [
      {
        kind: 'duplicate-service',
        subject: service.key,
        message: `${service.name} (${service.kind}) is also deployed by flavour ${claimants.join(', ')}: each would overwrite the other's deploys`,
      },
    ];
  });
}

const servicesOf = (flavour: Flavour) => flavourServices(flavour, buildRepoIndex(flavour));
