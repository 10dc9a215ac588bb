import type { Logger } from 'pino';
import type { Probot } from 'probot';
import { parseFlavour } from '../config/load.js';
import type { DeploySettings } from '../wiring/deploy-deps.js';
import { builtInFlavours } from '../deployers/index.js';
import { requiredChecks } from '../github/branch-protection.js';
import { installationRepos } from '../github/installation-repos.js';
import type { Runtime } from '../wiring/runtime.js';
import { DriftStore } from '../store/drift-store.js';
import { probeContext } from './context-probe.js';
import { runDoctor } from './doctor.js';

/** The flavour's drift warnings, where its workers write them and its receivers read them. */
export const driftStore = (runtime: Pick<Runtime, 'redis' | 'queues'>): DriftStore =>
  new DriftStore(runtime.redis, runtime.queues.prefix); // the queues' prefix is the flavour's namespace

/** The web UI's dependencies plus the drift warnings its overview shows. */
export const withDrift = <R extends Runtime>(runtime: R): R & { drift: DriftStore } => ({
  ...runtime,
  drift: driftStore(runtime),
});

export interface DoctorWiring {
  probot: Probot;
  runtime: Runtime;
  settings: DeploySettings;
  /** Probot's settings: APP_ID is this App's id. */
  probotEnv: NodeJS.ProcessEnv;
  log: Logger;
}

/** The `doctor` control task, connected to GitHub, the docker contexts and Redis. */
export function doctorTask(w: DoctorWiring): () => Promise<number> {
  const known = Object.entries(builtInFlavours).map(([name, input]) =>
    parseFlavour(input, `built-in flavour ${name}`),
  );
  const auth = (installationId?: number) => w.probot.auth(installationId);
  const probe = {
    dockerConfigDir: w.settings.dockerConfigDir,
    ssh: w.settings.ssh,
    dockerHost: w.runtime.env.dockerHost,
    timeoutMs: w.settings.ssh.connectTimeoutMs + 10_000,
  };
  const store = driftStore(w.runtime);
  return () =>
    runDoctor({
      flavour: w.runtime.flavour,
      index: w.runtime.index,
      known,
      appId: Number(w.probotEnv.APP_ID),
      visibleRepos: () => installationRepos(auth),
      requiredChecks: async (repo, branch) =>
        requiredChecks(await auth(repo.installationId), repo.owner, repo.name, branch),
      probe: (context) => probeContext(context, probe),
      store,
      log: w.log,
    });
}
