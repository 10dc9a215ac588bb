import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeContext, type ProbeSettings } from '../../src/doctor/context-probe.js';
import { sshSettings } from '../../src/exec/ssh/settings.js';
import { DriftStore } from '../../src/store/drift-store.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitHubStandIn } from '../helpers/github-stand-in.js';
import {
  redisUrl,
  sendWebhook,
  testPrivateKey,
  uniqueName,
  waitFor,
  WEBHOOK_SECRET,
} from '../helpers/harness.js';
import { example } from '../helpers/payloads.js';
import { REGISTRY, SSH_PORT } from '../helpers/swarm.js';

const root = join(import.meta.dirname, '../..');
// The sshd from scripts/services.sh and its key (TEST_* from `services.sh env` when set).
const sshKey = process.env.TEST_SSH_KEY ?? join(root, '.services/ssh/id_ed25519');
const knownHosts = process.env.TEST_KNOWN_HOSTS ?? join(root, '.services/ssh/known_hosts');
const sockets = new Set<Socket>();
/** A TCP server whose connections are cut when it closes. */
const server = (onConnection: (socket: Socket) => void = () => undefined): Server =>
  createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
const close = (s: Server | undefined) =>
  new Promise((r) => {
    if (!s) return r(undefined);
    s.close(r);
    for (const socket of sockets) socket.destroy();
  });

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );

/** A port nothing listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  return port;
}

/** The test sshd on another port, which known_hosts has no key for. */
async function relayToSshd(): Promise<{ server: Server; port: number }> {
  const relay = server((client) => {
    const sshd = createConnection({ host: '127.0.0.1', port: Number(SSH_PORT) });
    sockets.add(sshd);
    for (const s of [client, sshd]) s.on('error', () => undefined);
    client.pipe(sshd).pipe(client);
  });
  return { server: relay, port: await listen(relay) };
}

/** A DOCKER_CONFIG with one context per name → ssh://root@127.0.0.1:port, made by the docker CLI. */
function dockerConfig(contexts: Record<string, number>): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-doctor-'));
  for (const [name, port] of Object.entries(contexts))
    execFileSync(
      'docker',
      ['context', 'create', name, '--docker', `host=ssh://root@127.0.0.1:${port}`],
      { env: { ...process.env, DOCKER_CONFIG: dir }, stdio: 'ignore' },
    );
  return dir;
}

const escapeHtml = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

let relay: { server: Server; port: number };
let silent: Server;
let contexts: Record<string, number>;
let dir: string;

beforeAll(async () => {
  relay = await relayToSshd();
  // Accepts connections and never says a word: an SSH login that never ends.
  silent = server();
  contexts = {
    reachable: Number(SSH_PORT),
    closed: await closedPort(),
    stranger: relay.port,
    silent: await listen(silent),
  };
  dir = dockerConfig(contexts);
});
afterAll(async () => {
  await close(relay?.server);
  await close(silent);
});

describe('probeContext against the real sshd and dockerd', () => {
  const settings = (): ProbeSettings => ({
    dockerConfigDir: dir,
    ssh: sshSettings({
      DEPLOYER_SSH_KEY: sshKey,
      DEPLOYER_KNOWN_HOSTS: knownHosts,
      DEPLOYER_SSH_TIMEOUT_MS: '5000',
    }),
    timeoutMs: 3_000,
  });

  it('finds nothing wrong when the engine answers over SSH, or locally', async () => {
    expect(await probeContext('reachable', settings())).toBeUndefined();
    expect(await probeContext('default', settings())).toBeUndefined();
  });

  it('says why a context cannot be used', async () => {
    expect(await probeContext('closed', settings())).toBe(
      `cannot connect to 127.0.0.1:${contexts.closed}: connection refused`,
    );
    expect(await probeContext('stranger', settings())).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:${relay.port} is not in .*known_hosts: add its key \\(ssh-keyscan -p ${relay.port} 127\\.0\\.0\\.1 >>`,
      ),
    );
    expect(await probeContext('silent', settings())).toBe(
      'the engine did not answer within 3000ms',
    );
    expect(await probeContext('nowhere', settings())).toMatch(
      /^docker context "nowhere" not found in .*: create it with `docker context create nowhere/,
    );
  });
});

describe('DriftStore (real Redis)', () => {
  const redis = new Redis(redisUrl());
  afterAll(() => redis.disconnect());
  const warning = (subject: string, message = `about ${subject}`) => ({
    kind: 'not-installed' as const,
    subject,
    message,
  });

  it('adds each warning to exactly one of many writers, so it is logged once', async () => {
    const ns = uniqueName('drift');
    const stores = Array.from({ length: 5 }, () => new DriftStore(redis, ns));
    const found = [warning('acme/a'), warning('acme/b')];
    const changes = await Promise.all(stores.map((s) => s.update(['not-installed'], found)));
    const added = changes.flatMap((c) => c.added.map((w) => w.subject)).sort();
    expect(added).toEqual(['acme/a', 'acme/b']);
    expect(await stores[0].update(['not-installed'], found)).toEqual({ added: [], cleared: [] });
  });

  it('rewrites a changed message keeping when it was first seen, and clears only the kinds checked', async () => {
    const store = new DriftStore(redis, uniqueName('drift'));
    const other = { kind: 'context-unreachable' as const, subject: 'prod', message: 'refused' };
    await store.update(['not-installed'], [warning('acme/a')], 1_000);
    await store.update(['context-unreachable'], [other], 1_500);
    expect(await store.update(['not-installed'], [warning('acme/a', 'new words')], 2_000)).toEqual({
      added: [],
      cleared: [],
    });
    expect(await store.current()).toEqual([
      { ...warning('acme/a', 'new words'), since: 1_000 },
      { ...other, since: 1_500 },
    ]);
    const change = await store.update(['not-installed'], [], 3_000);
    expect(change.cleared.map((w) => w.subject)).toEqual(['acme/a']);
    expect(await store.current()).toEqual([{ ...other, since: 1_500 }]);
  });
});

describe('deployer start: drift warnings from GitHub, the contexts and the built-in flavours', () => {
  const name = uniqueName('doctor');
  const output: string[] = [];
  const visible = ['acme/web', 'acme/docs'];
  let github: GitHubStandIn;
  let child: ChildProcess | undefined;
  let url = '';

  const exited = (): undefined => {
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    throw new Error(`deployer exited:\n${output.slice(-15).join('\n')}`);
  };
  const logs = () =>
    output.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const logged = (msg: string) => logs().filter((l) => l.msg === msg);

  const docs =
    'https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection';
  const repository = (fullName: string) => {
    const [owner, repo] = fullName.split('/');
    return {
      id: fullName.length,
      name: repo,
      full_name: fullName,
      owner: { login: owner },
      private: false,
    };
  };

  beforeAll(async () => {
    github = await new GitHubStandIn().start();
    github.route('GET', /^\/app\/installations$/, () => ({
      status: 200,
      body: [
        {
          id: 7,
          account: { login: 'acme', id: 70, type: 'Organization' },
          app_id: 1,
          target_type: 'Organization',
          repository_selection: 'selected',
          suspended_at: null,
        },
      ],
    }));
    github.route('GET', /^\/installation\/repositories$/, () => ({
      status: 200,
      body: {
        total_count: visible.length,
        repository_selection: 'selected',
        repositories: visible.map(repository),
      },
    }));
    const protection =
      /^\/repos\/([^/]+)\/([^/]+)\/branches\/([^/]+)\/protection\/required_status_checks$/;
    github.route('GET', protection, (req, [owner, repo, branch]) => {
      const where = `${owner}/${repo} ${branch}`;
      if (where === 'acme/web live')
        return {
          status: 200,
          body: {
            url: `http://${github.host}${req.path}`,
            strict: true,
            contexts: ['deployability'],
            checks: [{ context: 'deployability', app_id: 1 }],
          },
        };
      if (where === 'acme/web staging')
        return { status: 404, body: { message: 'Branch not protected', documentation_url: docs } };
      return {
        status: 403,
        body: { message: 'Resource not accessible by integration', documentation_url: docs },
      };
    });

    const flavourFile = join(mkdtempSync(join(tmpdir(), 'deployer-doctor-')), 'flavour.json');
    const deployment = (branch: string, services: { name: string; context: string }[]) => ({
      branch,
      target: `${REGISTRY}/acme/${name}:${branch}`,
      services,
    });
    writeFileSync(
      flavourFile,
      JSON.stringify({
        name,
        ...testFlavour({
          repos: [
            testRepo('acme/web', {
              deployments: [
                // ocaml-org (built in) deploys itself as infra_deployer on its local engine
                deployment('live', [
                  { name: 'web', context: 'reachable' },
                  { name: 'infra_deployer', context: 'default' },
                ]),
                deployment('staging', [{ name: 'web_staging', context: 'closed' }]),
              ],
            }),
            testRepo('acme/api', {
              deployments: [deployment('live', [{ name: 'api', context: 'stranger' }])],
            }),
          ],
        }),
      }),
    );
    child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', 'start'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        APP_ID: '1',
        PRIVATE_KEY: testPrivateKey(),
        WEBHOOK_SECRET,
        ...github.env(),
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: redisUrl(),
        DEPLOYER_CONFIG: flavourFile,
        DEPLOYER_REDIS_PREFIX: uniqueName('t'),
        DEPLOYER_WORK_DIR: join(tmpdir(), name),
        // Scheduled runs happen at start only: a later run is the webhook's.
        DEPLOYER_CATCH_UP_MS: '3600000',
        DOCKER_CONFIG: dir,
        DEPLOYER_SSH_KEY: sshKey,
        DEPLOYER_KNOWN_HOSTS: knownHosts,
        DEPLOYER_SSH_TIMEOUT_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      output.push(...lines);
    });
    child.stderr!.on('data', (chunk: Buffer) => output.push(`stderr: ${chunk.toString('utf8')}`));
    url = await waitFor(
      'the receiver to listen',
      () => (logged('receiver listening')[0]?.url as string | undefined) ?? exited(),
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    await github?.stop();
  });

  const expected = () => ({
    'not-installed acme/api':
      'nothing will be deployed from acme/api: the App is not installed on it',
    'not-configured acme/docs': `the App is installed on acme/docs, which flavour "${name}" does not watch: add it to the config or remove it from the installation`,
    'check-not-required acme/web staging':
      'staging of acme/web deploys commits that did not build: its protection does not require the "deployability" check',
    'duplicate-service default/infra_deployer':
      'infra_deployer (swarm on default) is also deployed by flavour "ocaml-org": each would overwrite the other\'s deploys',
    'context-unreachable closed': `docker context "closed" cannot be reached, so web_staging cannot be deployed: cannot connect to 127.0.0.1:${contexts.closed}: connection refused`,
  });
  const warnings = () =>
    Object.fromEntries(
      logged('drift warning').map((l) => [`${l.kind} ${l.subject}`, l.warning as string]),
    );

  it('logs each warning found at start, and shows them at the top of the overview', async () => {
    await waitFor('the warnings at start', () => {
      exited();
      return Object.keys(warnings()).length >= 6 ? true : undefined;
    });
    const found = warnings();
    expect(found).toMatchObject(expected());
    expect(found['context-unreachable stranger']).toMatch(
      /^docker context "stranger" cannot be reached, so api cannot be deployed: 127\.0\.0\.1:\d+ is not in .*known_hosts: add its key/,
    );
    expect(Object.keys(found).sort()).toEqual(
      [...Object.keys(expected()), 'context-unreachable stranger'].sort(),
    );

    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const top = html.indexOf('<h2>Drift warnings</h2>');
    expect(top).toBeGreaterThan(html.indexOf('<h1>Repositories</h1>'));
    expect(top).toBeLessThan(html.indexOf('<h2>acme/web</h2>'));
    for (const message of Object.values(found)) expect(html).toContain(escapeHtml(message));
    expect(html).not.toContain('context "reachable"');
    expect(html).not.toMatch(/acme\/web live/);
  });

  it('checks again when the installation changes, logging only what is new or gone', async () => {
    visible.push('acme/api');
    const payload = example('installation_repositories', 'added');
    payload.installation.id = 7;
    payload.repositories_added = [
      { id: 1, node_id: 'R_1', name: 'api', full_name: 'acme/api', private: false },
    ];
    expect((await sendWebhook(url, 'installation_repositories', payload)).status).toBe(200);

    await waitFor('acme/api to be seen', () => {
      exited();
      return logged('drift warning cleared').length ? true : undefined;
    });
    expect(logged('drift warning cleared').map((l) => `${l.kind} ${l.subject}`)).toEqual([
      'not-installed acme/api',
    ]);
    await waitFor('the protection of acme/api to be read', () =>
      warnings()['protection-unreadable acme/api'] ? true : undefined,
    );
    // Logged once each, though the check ran twice.
    const lines = logged('drift warning').map((l) => `${l.kind} ${l.subject}`);
    expect(lines.length).toBe(new Set(lines).size);
    expect(lines).toHaveLength(7);

    const html = await (await fetch(`${url}/`)).text();
    expect(html).not.toContain('nothing will be deployed from acme/api');
    expect(html).toContain(
      escapeHtml(
        'cannot read the branch protection of acme/api: the App needs the "administration: read" permission',
      ),
    );
    expect(github.problems).toEqual([]);
  });
});
