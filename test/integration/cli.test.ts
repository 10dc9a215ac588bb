import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const fixture = (name: string) => join(root, 'test/fixtures/config', name);

const tmp = mkdtempSync(join(tmpdir(), 'cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A docker config directory with these contexts, made by the docker CLI itself. */
function dockerConfig(...contexts: string[]): string {
  const dir = mkdtempSync(join(tmp, 'docker-'));
  for (const name of contexts) {
    execFileSync('docker', ['context', 'create', name, '--docker', `host=ssh://root@${name}`], {
      env: { ...process.env, DOCKER_CONFIG: dir, DOCKER_HOST: '', DOCKER_CONTEXT: '' },
      stdio: 'ignore',
    });
  }
  return dir;
}
const noContexts = dockerConfig();

function deployer(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', ...args], {
    cwd: root,
    env: {
      ...process.env,
      DEPLOYER_CONFIG: '',
      DEPLOYER_FLAVOUR: '',
      DOCKER_CONFIG: noContexts,
      ...env,
    },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('deployer check-config', () => {
  it('summarises a good file whose docker contexts exist here', () => {
    expect(
      deployer(['check-config', fixture('good.yml')], { DOCKER_CONFIG: dockerConfig('testhost') }),
    ).toEqual({ code: 0, stdout: 'demo: 2 repositories, 4 builds: OK\n', stderr: '' });
  });

  it('warns of a docker context this machine does not have, naming the key; --strict fails', () => {
    const warning =
      'good.yml: repos[0].builds[0].deployments[0].services[0].context: warning: ' +
      `docker context "testhost" not found in ${noContexts}/contexts`;
    const r = deployer(['check-config', fixture('good.yml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('demo: 2 repositories, 4 builds: OK with 1 warning\n');
    expect(r.stderr.split('\n')[0]).toContain(warning);
    const strict = deployer(['check-config', '--strict', fixture('good.yml')]);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toContain(warning);
    expect(strict.stderr).toMatch(/\ngood\.yml: 1 warning\n$/);
  });

  it.each(['tarides', 'ocaml-org', 'mirage'])(
    'passes the built-in flavour %s (DEPLOYER_FLAVOUR) once its docker contexts exist',
    (name) => {
      const away = deployer(['check-config'], { DEPLOYER_FLAVOUR: name });
      expect(away.code).toBe(0);
      const lines = away.stderr.split('\n').filter(Boolean);
      for (const line of lines) expect(line).toMatch(/: warning: docker context "[^"]+" not found/);
      const contexts = lines.map((l) => /docker context "([^"]+)"/.exec(l)![1]);
      const here = deployer(['check-config'], {
        DEPLOYER_FLAVOUR: name,
        DOCKER_CONFIG: dockerConfig(...contexts),
      });
      expect(here).toMatchObject({ code: 0, stderr: '' });
      expect(here.stdout).toMatch(new RegExp(`^${name}: \\d+ repositories, \\d+ builds: OK\\n$`));
    },
  );

  /** A flavour file in the temp dir, from the YAML of its repos (and upstreams). */
  function flavourFile(name: string, body: string): string {
    const dir = join(tmp, 'flavours');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, name);
    writeFileSync(file, `name: demo\nbaseUrl: http://localhost:3000\n${body}`);
    return file;
  }

  it('warns of a repository listed twice, and refuses two different cloneUrls for it', () => {
    const twice = flavourFile(
      'twice.yml',
      `repos:
  - { owner: acme, name: web, builds: [{ dockerfile: Dockerfile }] }
  - { owner: Acme, name: Web, builds: [{ dockerfile: Dockerfile.api }] }
`,
    );
    expect(deployer(['check-config', twice])).toEqual({
      code: 0,
      stdout: 'demo: 2 repositories, 2 builds: OK with 1 warning\n',
      stderr:
        'twice.yml: repos[1]: warning: Acme/Web is listed again (first at repos[0]): its builds are merged into that entry\n',
    });
    const clones = flavourFile(
      'clones.yml',
      `repos:
  - { owner: acme, name: web, builds: [{ dockerfile: Dockerfile }] }
  - owner: acme
    name: web
    cloneUrl: https://git.example.org/acme/web.git
    builds: [{ dockerfile: Dockerfile.api }]
`,
    );
    expect(deployer(['check-config', clones])).toEqual({
      code: 2,
      stdout: '',
      stderr: [
        'clones.yml: repos[1]: warning: acme/web is listed again (first at repos[0]): its builds are merged into that entry',
        'clones.yml: repos[1].cloneUrl: differs from repos[0].cloneUrl (unset), which is the one used: give the repository once',
        'clones.yml: 1 error, 1 warning',
        '',
      ].join('\n'),
    });
  });

  it('refuses one service deployed twice on one context: by two repositories, two deployments or an upstream', () => {
    const file = flavourFile(
      'shared.yml',
      `repos:
  - owner: acme
    name: web
    builds:
      - dockerfile: Dockerfile
        deployments:
          - { branch: live, target: acme/web:live, services: [{ name: web }, { name: api, context: testhost }] }
          - { branch: staging, target: acme/web:staging, services: [{ name: web, context: testhost }] }
      - kind: unikernel
        dockerfile: Dockerfile
        target: hvt
        deployments: [{ branch: live, service: www, host: vmhost }]
  - owner: acme
    name: other
    builds:
      - dockerfile: Dockerfile
        deployments:
          - { branch: main, target: acme/other:live, services: [{ name: web }, { name: web, kind: stack, compose: c.yml }] }
      - kind: unikernel
        dockerfile: Dockerfile
        target: hvt
        deployments: [{ branch: main, service: www, host: vmhost }]
upstreams:
  - { image: acme/api:latest, services: [{ name: api, context: testhost }] }
`,
    );
    const r = deployer(['check-config', file], { DOCKER_CONFIG: dockerConfig('testhost') });
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: [
        'shared.yml: repos[1].builds[0].deployments[0].services[0]: Swarm service "web" on docker context "default" is already deployed by repos[0].builds[0].deployments[0].services[0] (acme/web branch live): each deploy would undo the other\'s',
        'shared.yml: repos[1].builds[1].deployments[0]: unikernel "www" on host vmhost is already deployed by repos[0].builds[1].deployments[0] (acme/web branch live): each deploy would undo the other\'s',
        'shared.yml: upstreams[0].services[0]: Swarm service "api" on docker context "testhost" is already deployed by repos[0].builds[0].deployments[0].services[1] (acme/web branch live): each deploy would undo the other\'s',
        'shared.yml: 3 errors',
        '',
      ].join('\n'),
    });
  });

  it('refuses a bad file with exit 2 and a message naming file, key and expectation, no stack', () => {
    const r = deployer(['check-config', fixture('bad-arch.yml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'bad-arch.yml: repos[0].builds[1].archs[0]: expected one of linux-x86_64, linux-arm64, linux-ppc64, linux-s390x, linux-riscv64, got "amd64"\n',
    );
  });

  it('refuses to start with an unknown flavour before touching Redis or GitHub', () => {
    const r = deployer(['start'], { DEPLOYER_FLAVOUR: 'nope', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'DEPLOYER_FLAVOUR: expected one of tarides, ocaml-org, mirage, got "nope"',
    );
  });

  it('refuses to receive webhooks without a webhook secret, before touching Redis', () => {
    const r = deployer(['serve'], {
      DEPLOYER_CONFIG: fixture('good.yml'),
      APP_ID: '1',
      WEBHOOK_SECRET: '',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "WEBHOOK_SECRET: required to receive webhooks (the GitHub App's webhook secret, or WEBHOOK_SECRET_FILE naming a file that holds it)\n",
    );
  });

  it('refuses an unknown pool', () => {
    const r = deployer(['worker', '--pools', 'linux-x86_64,amd64']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--pools: expected one of');
  });

  it('exits with a message, not a stack, when the web UI port of local mode is taken', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, 'localhost', r));
    const { port } = busy.address() as AddressInfo;
    try {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/entry/cli.ts', 'local', '--flavour', 'mirage', '--poll', '3600'],
        {
          cwd: root,
          env: {
            ...process.env,
            DEPLOYER_CONFIG: '',
            PORT: String(port),
            DEPLOYER_REDIS_PREFIX: `cli-${port}`,
          },
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      expect(r.signal).toBeNull();
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`port ${port} is in use`);
    } finally {
      busy.close();
    }
  });

  it('exits 0 at once on SIGTERM while still waiting for Redis at start-up', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', 'worker'], {
      cwd: root,
      env: {
        ...process.env,
        DEPLOYER_CONFIG: fixture('good.yml'),
        REDIS_URL: 'redis://127.0.0.1:1',
        APP_ID: '1',
        PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        WEBHOOK_SECRET: 'secret',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    // Its first complaint about Redis shows it is running and stuck starting.
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => d.includes('cannot reach Redis') && resolve()),
    );
    const sent = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(5_000);
  }, 60_000);
});
