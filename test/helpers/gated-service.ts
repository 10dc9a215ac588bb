import { deployJobId, serviceKey } from '../../src/plan/deploy-jobs.js';
import { testFlavour, testRepo } from './flavour.js';
import { GitServer, type GitRepo } from './git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from './harness.js';
import { pushPayload } from './payloads.js';
import {
  busybox,
  createService,
  docker,
  dockerConfigWithContext,
  pushInitialImage,
  REGISTRY,
  testDeploySettings,
} from './swarm.js';

/**
 * A repository whose `live` branch deploys to a Swarm service over an SSH context,
 * every service update waiting for an admin (`--confirm dangerous`), with GitHub
 * sign-in for the web UI and `alice` the flavour's only admin.
 */
export interface GatedService {
  h: Harness;
  repo: GitRepo;
  /** `acme/<name>` */
  fullName: string;
  service: string;
  /** The service's history key. */
  key: string;
  /** Commits `version` to `live` and sends its push; returns the commit. */
  push(version: string): Promise<string>;
  /** The deploy job of a commit (deterministic: one per commit and branch). */
  deployJob(sha: string): string;
  /** The image the service runs once the deploy of `sha` (by push or rollback) is recorded. */
  deployed(sha: string, trigger?: 'push' | 'rollback'): Promise<string>;
  close(): Promise<void>;
}

export async function startGatedService(name: string): Promise<GatedService> {
  const id = uniqueName(name).toLowerCase();
  const service = `svc-${id}`;
  const key = serviceKey('testhost', service);
  const fullName = `acme/${name}`;
  const git = await new GitServer().start();
  const repo = git.createRepo('acme', name);
  const where = { owner: 'acme', name, cloneUrl: git.cloneUrl('acme', name) };
  repo.write({ busybox }, 0o755);
  createService(service, pushInitialImage(`acme/${id}-initial`));
  const target = `${REGISTRY}/acme/${id}:live`;
  const h = await startHarness(
    // The harness replaces baseUrl with its own (signIn).
    testFlavour({
      admins: ['github:alice'],
      stagingRepo: `${REGISTRY}/staging-${id}`,
      repos: [
        testRepo(`acme/${name}`, {
          deployments: [
            { branch: 'live', target, services: [{ name: service, context: 'testhost' }] },
          ],
        }),
      ],
    }),
    {
      confirm: 'dangerous',
      signIn: true,
      deploySettings: testDeploySettings(dockerConfigWithContext('testhost')),
    },
  );
  const spec = () => [...h.deployer.runtime.index.values()][0].specs[0].key;
  return {
    h,
    repo,
    fullName,
    service,
    key,
    async push(version) {
      repo.write({
        'version.txt': `${version}\n`,
        Dockerfile:
          'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nCMD ["/bin/busybox", "sleep", "3600"]\n',
      });
      const sha = repo.commit(version);
      repo.push('live');
      const res = await h.send('push', pushPayload(where, 'live', sha));
      if (res.status !== 200) throw new Error(`the push webhook was answered ${res.status}`);
      return sha;
    },
    deployJob: (sha) => deployJobId(spec(), sha, 'live'),
    deployed: (sha, trigger = 'push') =>
      waitFor(
        `${service} to run ${sha.slice(0, 7)}`,
        async () => {
          const [latest] = await h.deployer.runtime.deploys.history(key);
          const done = latest?.sha === sha && latest.result === 'success';
          return done && latest.trigger?.kind === trigger ? latest.image : undefined;
        },
        120_000,
      ),
    async close() {
      await h.close();
      await git.stop();
      try {
        docker('service', 'rm', service);
      } catch {
        // already gone
      }
    },
  };
}
