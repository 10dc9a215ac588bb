import type { Service, UnikernelHost } from '../config/schema.js';
import type { Docker } from '../exec/docker/client.js';
import type { EngineAuth } from '../exec/docker/images.js';
import type { RegistryClient } from '../exec/registry.js';
import type { SshSettings } from '../exec/ssh/settings.js';
import type { UnitKind, UnitPlace } from '../plan/deploy-units.js';

/** How to run a command against a service's engine: locally, or on its host over SSH. */
export type EngineShell = (argv: string[], stdin?: string) => Promise<string>;

/** What targets reach the world through: engines, registries and hosts. */
export interface TargetEnv {
  engine: (context: string) => { docker: Docker; shell: EngineShell };
  engineAuth: (image: string) => Promise<EngineAuth | undefined>;
  /** A file of the repository at the deployed commit; absent when no commit is deployed. */
  readFile?: (path: string) => Promise<string>;
  registry: RegistryClient;
  ssh: SshSettings;
  unikernelHost: (host: string) => UnikernelHost;
  convergeTimeoutMs: number;
}

/** One unit to put one image on. */
export interface DeployContext {
  place: UnitPlace;
  /** `repository:tag@sha256:…`, what the unit should run. */
  image: string;
  digest: string;
  log: (line: string) => void;
  env: TargetEnv;
}

/** Everything a Docker service's target needs, resolved from its DeployContext. */
export interface ServiceContext {
  service: Service;
  image: string;
  digest: string;
  /** Credentials for the target's registry, passed on to the engine. */
  auth?: EngineAuth;
  docker: Docker;
  shell: EngineShell;
  /** The compose file at the deployed commit (stack and compose services). */
  composeFile?: string;
  log: (line: string) => void;
  convergeTimeoutMs: number;
}

export interface DeployOutcome {
  /** False when the unit already ran this image. */
  changed: boolean;
}

/** One way of upgrading a unit; registered by kind in targets/index.ts. */
export interface Target {
  kind: UnitKind;
  deploy(ctx: DeployContext): Promise<DeployOutcome>;
}

/** A deploy that ran and failed (the service did not converge, a command failed). */
export class DeployError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployError';
  }
}
