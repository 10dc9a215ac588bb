import type { Service } from '../config/schema.js';
import type { Docker, EngineAuth } from '../exec/docker.js';

/** How to run a command against a service's engine: locally, or on its host over SSH. */
export type EngineShell = (argv: string[], stdin?: string) => Promise<string>;

/** Everything a target needs to put one image on one service. */
export interface DeployContext {
  service: Service;
  /** `repository:tag@sha256:…`, what the service should run. */
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
  /** False when the service already ran this image. */
  changed: boolean;
}

/** One way of upgrading a service; registered by kind in targets/index.ts. */
export interface Target {
  deploy(ctx: DeployContext): Promise<DeployOutcome>;
}

/** A deploy that ran and failed (the service did not converge, a command failed). */
export class DeployError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployError';
  }
}
