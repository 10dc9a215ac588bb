import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testFlavour, testRepo, type TestFlavourInput } from './flavour.js';
import type { GitRepo, GitServer } from './git-server.js';
import type { Harness } from './harness.js';
import { uniqueName } from './harness.js';
import { pushPayload, type RepoRef } from './payloads.js';
import { busybox, createService, docker, pushInitialImage, REGISTRY, SSH_PORT } from './swarm.js';

/** One deployment branch `live` → one Swarm service, on a repository of its own. */
export class DeployScenario {
  readonly id = uniqueName('x').toLowerCase();
  readonly service = `svc-${this.id}`;
  readonly repoName = `web-${this.id}`;
  readonly where: RepoRef;
  readonly target: string;
  readonly stagingRepo: string;
  readonly repo: GitRepo;
  /** The image the service ran before any deploy. */
  initialImage = '';

  constructor(
    git: GitServer,
    readonly opts: {
      /** Default: the test registry. */
      stagingRegistry?: string;
      targetRegistry?: string;
      context?: string;
    } = {},
  ) {
    this.repo = git.createRepo('acme', this.repoName);
    this.where = {
      owner: 'acme',
      name: this.repoName,
      cloneUrl: git.cloneUrl('acme', this.repoName),
    };
    this.target = `${opts.targetRegistry ?? REGISTRY}/acme/${this.id}:live`;
    this.stagingRepo = `${opts.stagingRegistry ?? REGISTRY}/staging-${this.id}`;
  }

  get context(): string {
    return this.opts.context ?? 'testhost';
  }

  /** Service history key, as the deploy store knows it. */
  get historyKey(): string {
    return `${this.context}/${this.service}`;
  }

  flavour(): TestFlavourInput {
    return testFlavour({
      stagingRepo: this.stagingRepo,
      repos: [
        testRepo(`acme/${this.repoName}`, {
          deployments: [
            {
              branch: 'live',
              target: this.target,
              services: [{ name: this.service, context: this.context, uri: 'web.example.org' }],
            },
          ],
        }),
      ],
    });
  }

  createService(): void {
    createService(this.service, pushInitialImage(`acme/${this.id}-initial`));
    this.initialImage = docker(
      'service',
      'inspect',
      this.service,
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
    );
  }

  removeService(): void {
    try {
      docker('service', 'rm', this.service);
    } catch {
      // never created, or already gone
    }
  }

  /** Commits a Dockerfile whose image holds `version` (and runs `run` while building). */
  commit(version: string, run?: string): string {
    this.repo.write({ busybox }, 0o755);
    this.repo.write({
      'version.txt': `${version}\n`,
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\n' +
        (run ? `RUN ${run}\n` : '') +
        'CMD ["/bin/busybox", "sleep", "3600"]\n',
    });
    return this.repo.commit(version);
  }

  /** Pushes `sha` to `live` and sends the webhook. */
  async push(h: Harness, sha: string, before?: string): Promise<void> {
    this.repo.push('live');
    const res = await h.send('push', pushPayload(this.where, 'live', sha, before));
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
  }
}

/** A DOCKER_CONFIG with docker contexts (name → ssh:// URL), made by the docker CLI itself. */
export function dockerConfig(contexts: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-dockercfg-'));
  for (const [name, host] of Object.entries(contexts))
    execFileSync('docker', ['context', 'create', name, '--docker', `host=${host}`], {
      env: { ...process.env, DOCKER_CONFIG: dir },
      stdio: 'ignore',
    });
  return dir;
}

/** A known_hosts naming the test sshd's key for `127.0.0.1:port` too (a proxy in front of it). */
export function knownHostsFor(port: number): string {
  const source = process.env.TEST_KNOWN_HOSTS ?? join(process.cwd(), '.services/ssh/known_hosts');
  const line = readFileSync(source, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`[127.0.0.1]:${SSH_PORT} `));
  if (!line) throw new Error(`no key for [127.0.0.1]:${SSH_PORT} in ${source}`);
  const file = join(mkdtempSync(join(tmpdir(), 'deployer-kh-')), 'known_hosts');
  writeFileSync(file, `${line}\n${line.replace(`:${SSH_PORT} `, `:${port} `)}\n`);
  return file;
}

/** What a worker process needs to deploy over the test contexts (see worker-process.ts). */
export function deployEnv(dockerConfigDir: string): Record<string, string> {
  const ssh = join(process.cwd(), '.services/ssh');
  return {
    DOCKER_CONFIG: dockerConfigDir,
    DEPLOYER_SSH_KEY: process.env.TEST_SSH_KEY ?? join(ssh, 'id_ed25519'),
    DEPLOYER_KNOWN_HOSTS: process.env.TEST_KNOWN_HOSTS ?? join(ssh, 'known_hosts'),
    DEPLOYER_SSH_TIMEOUT_MS: '5000',
    DEPLOYER_CONVERGE_TIMEOUT_MS: '60000',
  };
}
