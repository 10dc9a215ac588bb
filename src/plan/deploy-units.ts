import type { Arch, Build, Service, Upstream } from '../config/schema.js';
import type { StagedImage } from '../store/deploy-store.js';
import {
  deploymentsFor,
  serviceKey,
  unikernelDeploymentsFor,
  type RollbackTarget,
} from './deploy-jobs.js';

/** Where a unit runs: a Docker service on an engine, or a unikernel on a VM host. */
export type UnitPlace =
  | {
      kind: Service['kind'];
      service: Service;
      /** The tag the image is published under: its registry's credentials go to the engine. */
      published: string;
    }
  | { kind: 'unikernel'; name: string; host: string };

export type UnitKind = UnitPlace['kind'];

/** The image a unit gets: known already, or the manifest list to write at `target` first. */
export type UnitImage =
  | { kind: 'ready'; image: string; digest: string }
  | { kind: 'manifest-list'; target: string; images: { ref: string; pool: Arch }[] };

export type ReadyImage = Extract<UnitImage, { kind: 'ready' }>;

/** One thing to upgrade, with what it gets. */
export interface PlannedUnit {
  /** Lock, history and pin key, unique per engine or host. */
  key: string;
  /** The GitHub environment and the name in messages. */
  name: string;
  uri?: string;
  place: UnitPlace;
  image: UnitImage;
}

/** The key a unikernel is known by, next to the services' `context/name`. */
export const unikernelKey = (host: string, name: string): string => `unikernel:${host}/${name}`;

/** A staged image by digest, without its staging tag. */
export const stagedByDigest = (s: Pick<StagedImage, 'ref' | 'digest'>): string =>
  `${s.ref.replace(/:[^:/]+$/, '')}@${s.digest}`;

/**
 * What a deploy of `build` to `branch` upgrades, in order. A push deploys every
 * service and unikernel following the branch, each deployment's services getting
 * one manifest list written over the `staged` per-pool images; a rollback deploys
 * only its service, to its earlier image.
 */
export function deployUnits(
  build: Build,
  branch: string,
  rollback: RollbackTarget | undefined,
  staged: StagedImage[],
): PlannedUnit[] {
  const wanted = (unit: PlannedUnit) => !rollback || rollback.service === unit.key;
  const ready = (image: string, digest: string): UnitImage => ({ kind: 'ready', image, digest });
  const unikernels = unikernelDeploymentsFor(build, branch).map((u): PlannedUnit => {
    const place: UnitPlace = { kind: 'unikernel', name: u.service, host: u.host };
    const key = unikernelKey(u.host, u.service);
    if (rollback)
      return { key, name: u.service, place, image: ready(rollback.image, rollback.digest) };
    const [first] = staged;
    if (!first) throw new Error(`no staged image to deploy to unikernel ${u.service}`);
    return { key, name: u.service, place, image: ready(stagedByDigest(first), first.digest) };
  });
  const services = deploymentsFor(build, branch).flatMap((d) => {
    const image: UnitImage = rollback
      ? ready(rollback.image, rollback.digest)
      : {
          kind: 'manifest-list',
          target: d.target,
          images: staged.map((s) => ({ ref: stagedByDigest(s), pool: s.pool as Arch })),
        };
    return d.services.map((service): PlannedUnit => ({
      key: serviceKey(service.context, service.name),
      name: service.name,
      uri: service.uri,
      place: { kind: service.kind, service, published: d.target },
      image,
    }));
  });
  return [...unikernels, ...services].filter(wanted);
}

/** What an upstream image's new digest upgrades: each of its services, to `image@digest`. */
export function upstreamUnits(
  upstream: Upstream,
  digest: string,
): (PlannedUnit & { image: ReadyImage })[] {
  return upstream.services.map((service) => ({
    key: serviceKey(service.context, service.name),
    name: service.name,
    uri: service.uri,
    place: { kind: service.kind, service, published: upstream.image },
    image: { kind: 'ready', image: `${upstream.image}@${digest}`, digest },
  }));
}
