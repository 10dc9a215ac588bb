// Deployer's own image and compose stack, for real on the local engine: the image is
// built from the Dockerfile on a base made on this machine (scripts/local-base-image.sh:
// no base image can be pulled), docker-compose.yml brings up Redis, a receiver and a
// worker, and a signed push webhook sent to the receiver's published port ends in a
// deployability check run at the GitHub stand-in, built by the worker container on
// the host's engine through the mounted socket.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { ComposeProject } from '../helpers/compose.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { GitHubStandIn } from '../helpers/github-stand-in.js';
import {
  sendWebhook,
  testPrivateKey,
  uniqueName,
  waitFor,
  WEBHOOK_SECRET,
} from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
/** A fixed tag, so a rerun reuses the layers of the last build (package installs). */
const IMAGE = 'deployer-own-image-test:local';
/** How containers reach this machine: the docker bridge's gateway, by compose's extra_hosts. */
const HOST_ALIAS = 'host.docker.internal';

const docker = (...args: string[]) =>
  execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** A loopback port nothing listens on now, for the receiver's published port. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe("Deployer's image and compose stack on the local engine", () => {
  let github: GitHubStandIn;
  let checks: CheckRuns;
  let git: GitServer;
  let repo: GitRepo;
  let relays: TcpRelay[] = [];
  let compose: ComposeProject;
  let receiverUrl: string;
  let cloneUrl: string;
  const shas: string[] = [];

  beforeAll(async () => {
    // The base images (cached by the script), then Deployer's image through compose's
    // own build section, with the base as its BASE_IMAGE build argument.
    const { stdout } = await run('bash', [join(ROOT, 'scripts/local-base-image.sh')], {
      timeout: 900_000,
    });
    const images = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    expect(images.BASE_IMAGE).toMatch(/^deployer-local\/node:20\./);
    expect(images.REDIS_IMAGE).toMatch(/^deployer-local\/redis:/);

    github = await new GitHubStandIn().start();
    checks = trackCheckRuns(github);
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'web');
    const gateway = docker(
      'network',
      'inspect',
      'bridge',
      '--format',
      '{{(index .IPAM.Config 0).Gateway}}',
    );
    const ghRelay = await startTcpRelay(gateway, Number(github.host.split(':')[1]));
    const gitRelay = await startTcpRelay(gateway, Number(new URL(git.url).port));
    relays = [ghRelay, gitRelay];
    cloneUrl = `http://${HOST_ALIAS}:${gitRelay.port}/acme/web.git`;

    const dir = mkdtempSync(join(tmpdir(), 'deployer-own-image-'));
    const key = join(dir, 'github-app.pem');
    writeFileSync(key, testPrivateKey());
    chmodSync(key, 0o644); // the image runs as uid 10001
    // The operator's directories, as the compose file's comments say to make them.
    const [configDir, dockerDir, sshDir] = ['config', 'docker', 'ssh'].map((d) => join(dir, d));
    for (const d of [configDir, dockerDir, sshDir]) mkdirSync(d, { mode: 0o755 });
    writeFileSync(
      join(configDir, 'flavour.yml'),
      [
        `name: ${uniqueName('own-image')}`,
        'baseUrl: http://deployer.test',
        'repos:',
        '  - owner: acme',
        '    name: web',
        '    builds:',
        '      - dockerfile: Dockerfile',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    // The operator's .env: every Deployer setting is here, none in compose's own
    // environment. REDIS_URL and DOCKER_CONFIG name this machine's paths, as a .env
    // written for running outside compose would; the compose file's values win.
    const envFile = join(dir, '.env');
    writeFileSync(
      envFile,
      [
        'APP_ID=1',
        `WEBHOOK_SECRET=${WEBHOOK_SECRET}`,
        'DEPLOYER_CONFIG=/etc/deployer/flavour.yml',
        `GHE_HOST=${HOST_ALIAS}:${ghRelay.port}`,
        'GHE_PROTOCOL=http',
        'LOG_LEVEL=debug',
        'DEPLOYER_UNTRUSTED_BUILDS_PER_REPO=3',
        'REDIS_URL=redis://127.0.0.1:6379',
        'DOCKER_CONFIG=/root/.docker',
        '',
      ].join('\n'),
    );
    // What this test adds to the operator's file: the way to this machine.
    const override = join(dir, 'compose.test.yml');
    const extra = { extra_hosts: [`${HOST_ALIAS}:host-gateway`] };
    writeFileSync(override, JSON.stringify({ services: { receiver: extra, worker: extra } }));

    const port = await freePort();
    receiverUrl = `http://127.0.0.1:${port}`;
    compose = new ComposeProject(
      uniqueName('deployer-own-image').replace(/-/g, ''),
      [join(ROOT, 'docker-compose.yml'), override],
      {
        BASE_IMAGE: images.BASE_IMAGE,
        REDIS_IMAGE: images.REDIS_IMAGE,
        DEPLOYER_IMAGE: IMAGE,
        DEPLOYER_ENV_FILE: envFile,
        DEPLOYER_CONFIG_DIR: configDir,
        DEPLOYER_DOCKER_DIR: dockerDir,
        DEPLOYER_SSH_DIR: sshDir,
        GITHUB_APP_KEY_FILE: key,
        DOCKER_GID: String(statSync('/var/run/docker.sock').gid),
        DEPLOYER_PORT: `127.0.0.1:${port}`,
      },
    );
    const previous = imageId(IMAGE);
    await compose.run(['build', 'receiver'], 900_000);
    // The last build's image, now untagged, would otherwise stay behind on every change.
    if (previous && previous !== imageId(IMAGE)) removeImages([previous]);
    await compose.run(['up', '-d', '--no-build'], 300_000);
    await waitFor(
      'the receiver to answer /healthz',
      async () =>
        (await fetch(`${receiverUrl}/healthz`).catch(() => undefined))?.ok ? true : undefined,
      60_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await compose.logs()}`);
    });
  }, 1_800_000);

  afterAll(async () => {
    await compose?.down();
    for (const relay of relays) await relay.close();
    await github?.stop();
    await git?.stop();
    for (const sha of shas) {
      removeImages(
        docker('image', 'ls', '-q', '--filter', `reference=deployer-build/*:${sha.slice(0, 12)}-*`)
          .split('\n')
          .filter(Boolean),
      );
    }
  }, 120_000);

  it('runs Redis with AOF and noeviction, and Deployer as a user that is not root', async () => {
    const redis = await compose.containerId('redis');
    const config = docker('exec', redis, 'redis-cli', 'config', 'get', '*');
    expect(config).toMatch(/^appendonly\nyes$/m);
    expect(config).toMatch(/^maxmemory-policy\nnoeviction$/m);
    for (const service of ['receiver', 'worker']) {
      const id = await compose.containerId(service);
      expect(docker('exec', id, 'id', '-u')).toBe('10001');
    }
  });

  it('passes every .env setting to the containers, the container paths winning', async () => {
    const worker = await compose.containerId('worker');
    const env = (name: string) => docker('exec', worker, 'printenv', name);
    expect(env('DEPLOYER_UNTRUSTED_BUILDS_PER_REPO')).toBe('3');
    expect(env('REDIS_URL')).toBe('redis://redis:6379');
    expect(env('DOCKER_CONFIG')).toBe('/home/deployer/.docker');
    expect(docker('exec', worker, 'ls', '/etc/deployer')).toBe('flavour.yml');
  });

  it('reports the worker healthy through its own /healthz', async () => {
    const worker = await compose.containerId('worker');
    const state = await waitFor(
      'the worker health check to pass',
      () => {
        const s = docker('inspect', '--format', '{{.State.Health.Status}}', worker);
        return s === 'starting' ? undefined : s;
      },
      90_000,
    );
    expect(state).toBe('healthy');
  });

  it('turns a signed push webhook into a deployability check run, built by the worker container', async () => {
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
    repo.write({
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "echo built in $(/bin/busybox uname -m)"]\n',
    });
    const sha = repo.commit('first');
    shas.push(sha);
    repo.push('main');

    const payload = pushPayload({ owner: 'acme', name: 'web', cloneUrl }, 'main', sha);
    const unsigned = await sendWebhook(receiverUrl, 'push', payload, { signature: 'sha256=00' });
    await unsigned.arrayBuffer();
    expect(unsigned.status).toBeGreaterThanOrEqual(400); // the receiver checks the signature
    const res = await sendWebhook(receiverUrl, 'push', payload);
    await res.arrayBuffer();
    expect(res.status).toBe(200);

    const done = await waitFor(
      'the check run to conclude',
      () => checks.concluded(sha),
      180_000,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}; GitHub saw ${JSON.stringify(github.requests.map((r) => `${r.method} ${r.path}`))}\n${await compose.logs()}`,
      );
    });
    const [created] = checks.writes(sha);
    expect(created).toMatchObject({ name: 'deployability', head_sha: sha, status: 'queued' });
    expect(done.conclusion).toBe('success');
    expect(done.output?.title).toBe('1 of 1 builds passed');
    // The installation token was asked for with the App's JWT, from inside the stack.
    const token = github.requests.find((r) => r.path === '/app/installations/42/access_tokens');
    expect(token?.authorization).toMatch(/^bearer /i);
    expect(github.problems).toEqual([]);
    // The worker built on this machine's engine, through the socket.
    expect(
      docker('image', 'ls', '-q', '--filter', `reference=deployer-build/*:${sha.slice(0, 12)}-*`),
    ).not.toBe('');
  });
});

function imageId(ref: string): string | undefined {
  try {
    return docker('image', 'inspect', '--format', '{{.Id}}', ref);
  } catch {
    return undefined;
  }
}

function removeImages(ids: string[]): void {
  if (!ids.length) return;
  try {
    execFileSync('docker', ['rmi', ...ids], { stdio: 'ignore' });
  } catch {
    // in use by another tag or container: leave it
  }
}
