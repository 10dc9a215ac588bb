import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeploySettings } from '../../src/wiring/deploy-deps.js';
import { sshSettings } from '../../src/exec/ssh/settings.js';

export const docker = (...args: string[]): string =>
  execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
export const SSH_PORT = process.env.TEST_SSH_PORT ?? '2222';
export const busybox = readFileSync('/bin/busybox');

/** A tiny image in the local registry, for a service to start from. */
export function pushInitialImage(repository: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-img-'));
  writeFileSync(join(dir, 'busybox'), busybox, { mode: 0o755 });
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "3600"]\n',
  );
  const ref = `${REGISTRY}/${repository}:initial`;
  execFileSync('docker', ['build', '-q', '-t', ref, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
  docker('push', ref);
  return ref;
}

export function createService(name: string, image: string): void {
  docker(
    'service',
    'create',
    '--detach',
    '--name',
    name,
    '--update-monitor',
    '2s',
    '--update-failure-action',
    'pause',
    // busybox `sleep` as PID 1 ignores SIGTERM: without this each update waits Docker's 10 s.
    '--stop-grace-period',
    '1s',
    image,
  );
}

export function serviceImage(name: string): string {
  return docker(
    'service',
    'inspect',
    name,
    '--format',
    '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
  );
}

/** Images of the service's tasks that are meant to run, with their state. */
export function runningTasks(name: string): { image: string; state: string }[] {
  const out = docker(
    'service',
    'ps',
    name,
    '--filter',
    'desired-state=running',
    '--no-trunc',
    '--format',
    '{{.Image}} {{.CurrentState}}',
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => ({ image: l.split(' ')[0], state: l.split(' ')[1] }));
}

/** A DOCKER_CONFIG with context `name` → the test sshd, made by the docker CLI itself. */
export function dockerConfigWithContext(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-dockercfg-'));
  execFileSync(
    'docker',
    ['context', 'create', name, '--docker', `host=ssh://root@127.0.0.1:${SSH_PORT}`],
    {
      env: { ...process.env, DOCKER_CONFIG: dir },
      stdio: 'ignore',
    },
  );
  return dir;
}

export function testDeploySettings(
  dockerConfigDir: string,
  extra: Partial<DeploySettings> = {},
): DeploySettings {
  return {
    dockerConfigDir,
    insecureRegistries: [],
    convergeTimeoutMs: 60_000,
    ssh: sshSettings({
      DEPLOYER_SSH_KEY: process.env.TEST_SSH_KEY,
      DEPLOYER_KNOWN_HOSTS: process.env.TEST_KNOWN_HOSTS,
      DEPLOYER_SSH_TIMEOUT_MS: '5000',
    }),
    ...extra,
  };
}

/** A local HTTP listener standing in for a Slack incoming webhook. */
export class SlackListener {
  readonly messages: string[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.messages.push((JSON.parse(body) as { text: string }).text);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  webhookFile(): string {
    const file = join(mkdtempSync(join(tmpdir(), 'deployer-slack-')), 'url');
    writeFileSync(file, this.url);
    return file;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}
