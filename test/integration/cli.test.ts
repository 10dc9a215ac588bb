import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const fixture = (name: string) => join(root, 'test/fixtures/config', name);

function deployer(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, DEPLOYER_CONFIG: '', DEPLOYER_FLAVOUR: '', ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('deployer check-config', () => {
  it('summarises a good file', () => {
    expect(deployer(['check-config', fixture('good.yml')])).toMatchObject({
      code: 0,
      stdout: 'demo: 2 repositories, 4 builds: OK\n',
    });
  });

  it('checks the built-in flavour named by DEPLOYER_FLAVOUR', () => {
    const r = deployer(['check-config'], { DEPLOYER_FLAVOUR: 'ocaml-org' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ocaml-org: \d+ repositories, \d+ builds: OK\n$/);
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
      WEBHOOK_SECRET: '',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "WEBHOOK_SECRET: required to receive webhooks (the GitHub App's webhook secret)\n",
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
        ['--import', 'tsx', 'src/main.ts', 'local', '--flavour', 'mirage', '--poll', '3600'],
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
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
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
      child.stdout.on('data', (d: Buffer) => d.includes('redis connection error') && resolve()),
    );
    const sent = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(5_000);
  }, 60_000);
});
