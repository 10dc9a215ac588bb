import type { RepoIndex } from '../config/repo-index.js';
import type { Arch, UnikernelHost } from '../config/schema.js';
import type { EngineAuth } from '../exec/docker/images.js';
import type { RegistryClient } from '../exec/registry.js';
import type { SshSettings } from '../exec/ssh/settings.js';
import type { Octokit } from '../github/check-runs.js';
import type { DeployMessages } from '../notify/deploy-messages.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import type { CommitStore } from '../store/commit-store.js';
import type { DeployStore } from '../store/deploy-store.js';
import type { TargetEnv } from '../targets/target.js';
import type { Gates } from '../store/gates.js';

/** Side effects a deploy needs, injected so tests drive each for real. */
export interface DeployDeps {
  baseUrl: string;
  index: RepoIndex;
  store: CommitStore;
  deploys: DeployStore;
  /** Writes one manifest list at `target` over the staged per-pool images; returns its digest. */
  manifestList: (target: string, images: { ref: string; pool: Arch }[]) => Promise<string>;
  engineAuth: (image: string) => Promise<EngineAuth | undefined>;
  engine: TargetEnv['engine'];
  /**
   * The branch's head in the repository itself (undefined: no such branch). A push
   * delivered again long after (a replay) names a commit the branch has left.
   */
  branchHead?: (data: DeployJobData) => Promise<string | undefined>;
  /** A file of the repository at the deployed commit (compose files). */
  readFile: (data: DeployJobData, path: string) => Promise<string>;
  /** Absent in local mode: no GitHub Deployments. */
  github?: (installationId: number) => Promise<Octokit>;
  /** Slack: each deployment's message, and rollbacks' and upstream images' own. */
  messages: DeployMessages;
  convergeTimeoutMs: number;
  lockTtlMs: number;
  /** Unikernels: read from the registry, copied over SSH to the flavour's VM hosts. */
  registry: RegistryClient;
  ssh: SshSettings;
  unikernelHosts: Record<string, UnikernelHost>;
  /** Confirmation gates (`--confirm LEVEL`); absent: nothing waits. */
  gates?: Gates;
  /** Told each service deploy's result (metrics). */
  onResult?: (service: string, result: 'success' | 'unchanged' | 'failure') => void;
}
