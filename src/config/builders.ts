import type { z } from 'zod';
import type {
  ArgSource,
  Arch,
  BuildInput,
  deploymentSchema,
  FlavourInput,
  serviceSchema,
  unikernelDeploymentSchema,
} from './schema.js';

// Builders for the built-in flavours: they produce the same input shape a YAML
// file does, and both are validated by the one schema in schema.ts.

type RepoInput = FlavourInput['repos'][number];
type DeploymentInput = z.input<typeof deploymentSchema>;
type ServiceInput = z.input<typeof serviceSchema>;
type UnikernelDeploymentInput = z.input<typeof unikernelDeploymentSchema>;

/** A docker context name; `localEngine` is the engine the deployer runs on. */
export type Context = string & { readonly __context: unique symbol };
export const context = (name: string): Context => name as Context;
export const localEngine = context('default');

export const flavour = (input: FlavourInput): FlavourInput => input;

export const repo = (owner: string, name: string, builds: BuildInput[]): RepoInput => ({
  owner,
  name,
  builds,
});

export function docker(
  dockerfile: string,
  opts: {
    archs?: Arch[];
    options?: {
      buildArgs?: string[];
      argsFrom?: ArgSource[];
      includeGit?: boolean;
      target?: string | null;
      ulimits?: string[];
    };
    deployments?: DeploymentInput[];
  } = {},
): BuildInput {
  return { kind: 'docker', dockerfile, ...opts };
}

export const deployment = (
  branch: string,
  target: string,
  services: ServiceInput[] = [],
): DeploymentInput => ({ branch, target, services });

export function service(
  name: string,
  where: Context = localEngine,
  uri?: string,
  extra: { kind?: 'swarm' | 'stack' | 'compose'; compose?: string } = {},
): ServiceInput {
  return { name, context: where, ...(uri === undefined ? {} : { uri }), ...extra };
}

export function unikernel(
  dockerfile: string,
  opts: { target: string; args?: string[]; deployments?: UnikernelDeploymentInput[] },
): BuildInput {
  return { kind: 'unikernel', dockerfile, ...opts };
}

/** A build argument set to the head commit of another repository's branch. */
export const headOf = (arg: string, repo: string, branch: string): ArgSource => ({
  arg,
  head: { repo, branch },
});

/** A build argument set to the digest of an image's manifest. */
export const imageDigest = (arg: string, image: string): ArgSource => ({ arg, image });

/** A service running an image built elsewhere, redeployed when its digest changes. */
export const upstream = (
  image: string,
  everyDays: number,
  services: ServiceInput[],
): NonNullable<FlavourInput['upstreams']>[number] => ({ image, everyDays, services });
