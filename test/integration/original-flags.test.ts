import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.js';
import { parseFlavour } from '../../src/config/load.js';
import { resolveFlavour } from '../../src/config/flavour.js';
import { createRuntime, type Runtime } from '../../src/wiring/runtime.js';
import { GitHubStandIn } from '../helpers/github-stand-in.js';
import {
  freePort,
  redisUrl,
  sign,
  testPrivateKey,
  uniqueName,
  waitFor,
} from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'deployer-original-flags-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const SECRET = 'secret-from-a-file';
const sha = () => Math.random().toString(16).slice(2).padEnd(40, '0').slice(0, 40);

/** The environment without anything the original's options are to provide. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl(), LOG_FORMAT: 'json' };
  for (const name of [
    'APP_ID',
    'PRIVATE_KEY',
    'PRIVATE_KEY_PATH',
    'WEBHOOK_SECRET',
    'WEBHOOK_SECRET_FILE',
    'LOG_LEVEL',
    'DEPLOYER_CONFIG',
    'DEPLOYER_FLAVOUR',
    'GITHUB_CLIENT_ID',
    'GITHUB_CLIENT_SECRET',
    'PORT',
    'HOST',
  ])
    delete env[name];
  return { ...env, ...extra };
}

/** `deployer …` as its own process; its log is kept to be read. */
function spawnDeployer(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    log: () => log,
    /** The first JSON log line whose message is `msg`. */
    logged: (msg: string) =>
      waitFor(
        `"${msg}" in the log`,
        () =>
          log
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((l) => l.msg === msg),
        60_000,
      ),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function deployerSync(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', ...args], {
    cwd: root,
    env: bareEnv({ REDIS_URL: 'redis://127.0.0.1:1', ...env }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stderr: r.stderr };
}

async function deliver(url: string, path: string, payload: unknown, secret = SECRET) {
  const body = JSON.stringify(payload);
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': uniqueName('delivery'),
      'x-hub-signature-256': sign(body, secret),
    },
    body,
  });
}

let running: ReturnType<typeof spawnDeployer> | undefined;
let runtime: Runtime | undefined;
afterEach(async () => {
  await running?.stop();
  await runtime?.close();
  running = runtime = undefined;
});

describe("deployer serve with the original deployer's command line", () => {
  it('reads the App, secret and OAuth files, serves flavour ocaml on --port and metrics on --listen-prometheus', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const prefix = uniqueName('t');
    const args = [
      'serve',
      '--github-app-id',
      '1',
      '--github-private-key-file',
      file('app.pem', testPrivateKey()),
      '--github-webhook-secret-file',
      file('webhook-secret', `${SECRET}\n`),
      '--github-oauth',
      file('oauth.json', JSON.stringify({ client_id: 'Iv1.original', client_secret: 'shh' })),
      '--flavour',
      'ocaml',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--listen-prometheus',
      String(metricsPort),
      '--confirm',
      'dangerous',
      '-v',
    ];
    running = spawnDeployer(
      args,
      bareEnv({ DEPLOYER_REDIS_PREFIX: prefix, DEPLOYER_SESSION_SECRET: 'x'.repeat(32) }),
    );
    // -v: info lines are logged (Probot's default level is warn).
    const listening = await running.logged('receiver listening');
    expect(listening).toMatchObject({ flavour: 'ocaml-org', url: `http://127.0.0.1:${port}` });
    const url = `http://127.0.0.1:${port}`;

    runtime = createRuntime(
      { ...readEnv({ REDIS_URL: redisUrl() }), prefix },
      resolveFlavour({ flavourName: 'ocaml-org' }),
    );
    const where = { owner: 'ocaml', name: 'ocaml.org', cloneUrl: 'http://git.invalid/ocaml.git' };
    // The original's webhook path, with the secret from the file (its line break dropped).
    expect((await deliver(url, '/webhooks/github', pushPayload(where, 'main', sha()))).status).toBe(
      200,
    );
    expect(await runtime.queues.intake.backlog()).toBe(1);
    expect(
      (await deliver(url, '/api/github/webhooks', pushPayload(where, 'main', sha()))).status,
    ).toBe(200);
    expect(await runtime.queues.intake.backlog()).toBe(2);
    const forged = await deliver(
      url,
      '/webhooks/github',
      pushPayload(where, 'main', sha()),
      `${SECRET}\n`,
    );
    expect(forged.status).toBe(400);
    expect(await runtime.queues.intake.backlog()).toBe(2);

    // The original's job links; a redirect needs no sign-in.
    const job = await fetch(`${url}/job/build-abc?x=1`, { redirect: 'manual' });
    expect(job.status).toBe(301);
    expect(job.headers.get('location')).toBe('/jobs/build-abc?x=1');
    const old = await fetch(`${url}/job/2024-01-02/120000-docker-build-abcdef`, {
      redirect: 'manual',
    });
    expect(old.status).toBe(404);
    expect(await old.text()).toContain('original OCurrent deployer');

    // Sign-in uses the OAuth file's client id.
    const login = await fetch(`${url}/login`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toContain('client_id=Iv1.original');

    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/deployer_webhooks_total\{event="push",status="200"\} 2/);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);
  }, 90_000);
});

describe("deployer start with the original's allowlist and slow start", () => {
  let github: GitHubStandIn;
  beforeAll(async () => {
    github = await new GitHubStandIn().start();
  });
  afterAll(async () => {
    await github?.stop();
  });

  it('serves only allowlisted accounts and releases --confirm after --confirm-auto-release', async () => {
    const port = await freePort();
    const prefix = uniqueName('t');
    const input = {
      name: uniqueName('allow'),
      baseUrl: 'http://deployer.test',
      repos: ['acme/web', 'other/site'].map((r) => {
        const [owner, name] = r.split('/');
        return { owner, name, builds: [{ dockerfile: 'Dockerfile' }] };
      }),
    };
    const config = file(`${input.name}.json`, JSON.stringify(input));
    running = spawnDeployer(
      [
        'start',
        '--github-app-id',
        '1',
        '--github-private-key-file',
        file('app.pem', testPrivateKey()),
        '--github-webhook-secret-file',
        file('webhook-secret', SECRET),
        '--github-account-allowlist',
        'ACME,ocurrent',
        '--confirm',
        'average',
        '--confirm-auto-release',
        '30',
        '--port',
        String(port),
        '--verbosity',
        'info',
      ],
      bareEnv({
        ...github.env(),
        HOST: '127.0.0.1',
        DEPLOYER_CONFIG: config,
        DEPLOYER_REDIS_PREFIX: prefix,
        DEPLOYER_WORK_DIR: join(dir, 'builds'),
      }),
    );
    const started = Date.now();
    const leftOut = await running.logged(
      'repositories of accounts not on DEPLOYER_ACCOUNT_ALLOWLIST are not served',
    );
    expect(leftOut).toMatchObject({ repos: ['other/site'], accounts: ['acme', 'ocurrent'] });
    await running.logged('worker started');
    await running.logged('receiver listening');

    runtime = createRuntime(
      { ...readEnv({ REDIS_URL: redisUrl() }), prefix },
      parseFlavour(input, 'test flavour'),
    );
    const state = await runtime.gates.level.state();
    expect(state).toMatchObject({ level: 'average', source: 'configured', configured: 'average' });
    expect(state.releaseAt! - started).toBeGreaterThan(25_000);
    expect(state.releaseAt! - Date.now()).toBeLessThanOrEqual(30_000);
    expect(await runtime.gates.level.state(state.releaseAt!)).toMatchObject({
      level: undefined,
      source: 'released',
    });

    // A push to the repository of an account not on the list is not taken; one of acme is.
    const url = `http://127.0.0.1:${port}`;
    const other = { owner: 'other', name: 'site', cloneUrl: 'http://git.invalid/site.git' };
    const acme = { owner: 'acme', name: 'web', cloneUrl: 'http://git.invalid/web.git' };
    expect((await deliver(url, '/webhooks/github', pushPayload(other, 'main', sha()))).status).toBe(
      200,
    );
    expect((await deliver(url, '/webhooks/github', pushPayload(acme, 'main', sha()))).status).toBe(
      200,
    );
    await waitFor('a check run for acme/web', () =>
      github.checkRunWrites().find((r) => r.path.startsWith('/repos/acme/web/')),
    );
    expect(github.checkRunWrites().filter((r) => r.path.startsWith('/repos/other/'))).toEqual([]);
  }, 90_000);
});

describe("the original's options that are refused, with what to do", () => {
  // Each option's translation and refusal is checked in test/unit/original-flags.test.ts.
  it.each([
    [
      ['serve', '--submission-service', 'submission.cap'],
      /--submission-service: there is no OCluster scheduler here: builds run in `deployer worker` processes/,
    ],
    [['start', '--confirm', 'sometimes'], /--confirm: expected none or one of harmless/],
  ])('%j', (args, message) => {
    const r = deployerSync(args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('refuses WEBHOOK_SECRET and WEBHOOK_SECRET_FILE together, and a secret file it cannot read', () => {
    const both = deployerSync(['serve', '--flavour', 'mirage'], {
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: 'a',
      WEBHOOK_SECRET_FILE: file('s', 'b'),
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('WEBHOOK_SECRET and WEBHOOK_SECRET_FILE: set one, not both\n');
    const missing = deployerSync(['serve', '--github-webhook-secret-file', join(dir, 'nope')], {
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`WEBHOOK_SECRET_FILE: cannot read ${join(dir, 'nope')} (ENOENT)\n`);
  });
});
