import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queues } from '../../src/jobs/queues.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer } from '../helpers/git-server.js';
import { GitHubStandIn, INSTALLATION_TOKEN } from '../helpers/github-stand-in.js';
import { redisUrl, sendWebhook, sign, uniqueName, waitFor } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import {
  busybox,
  docker,
  dockerConfigWithContext,
  pushInitialImage,
  SlackListener,
} from '../helpers/swarm.js';

const root = join(import.meta.dirname, '../..');
const AUTH_REGISTRY = process.env.TEST_AUTH_REGISTRY ?? '127.0.0.1:5001';
const AUTH_USER = process.env.TEST_AUTH_REGISTRY_USER ?? 'deployer';
const AUTH_PASSWORD = process.env.TEST_AUTH_REGISTRY_PASSWORD ?? 'deployer-test-password';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Known fake secrets, each with the forms it could leak in. */
function secretForms(): Record<string, string[]> {
  const webhookSecret = `whsec-fake-${randomBytes(12).toString('hex')}`;
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs1',
    format: 'pem',
  }) as string;
  const slackToken = `slacktoken${randomBytes(12).toString('hex')}`;
  const sshKey = process.env.TEST_SSH_KEY;
  return {
    WEBHOOK_SECRET: [webhookSecret],
    // Any line of the key's body: a key logged whole, escaped or in part.
    PRIVATE_KEY: pemBody(privateKey),
    INSTALLATION_TOKEN: [INSTALLATION_TOKEN, b64(`x-access-token:${INSTALLATION_TOKEN}`)],
    REGISTRY_PASSWORD: [AUTH_PASSWORD, b64(`${AUTH_USER}:${AUTH_PASSWORD}`)],
    SLACK_WEBHOOK_URL: [slackToken],
    SSH_PRIVATE_KEY: sshKey && existsSync(sshKey) ? pemBody(readFileSync(sshKey, 'utf8')) : [],
    _privateKeyPem: [privateKey],
  };
}

function pemBody(pem: string): string[] {
  return pem
    .split('\n')
    .filter((l) => l.length >= 40 && !l.startsWith('-----'))
    .slice(0, 20);
}

/** Every place where `text` contains a form of a secret: `secret@where: …context…`. */
function leaks(secrets: Record<string, string[]>, where: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, forms] of Object.entries(secrets)) {
    if (name.startsWith('_')) continue;
    for (const form of forms) {
      const at = text.indexOf(form);
      if (at >= 0)
        found.push(`${name} in ${where}: …${text.slice(Math.max(0, at - 80), at + 40)}…`);
    }
  }
  return found;
}

/** Every value under `pattern`, whatever its type, as text. */
async function dumpRedis(redis: Redis, pattern: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', '1000');
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      out.set(key, JSON.stringify(value));
    }
  } while (cursor !== '0');
  return out;
}

describe('secrets never reach logs, job logs, job data, Redis or GitHub (deployer start, trace logs)', () => {
  const id = uniqueName('sec').toLowerCase();
  const service = `svc-${id}`;
  const repoName = `app-${id}`;
  const flavourName = uniqueName('secrets');
  const prefix = uniqueName('t');
  const secrets = secretForms();
  const output: string[] = [];
  let github: GitHubStandIn;
  let git: GitServer;
  let slack: SlackListener;
  let child: ChildProcess | undefined;
  let url = '';
  let sha = '';

  /** Fails the wait at once when the deployer process died, with its last words. */
  const exited = (): undefined => {
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    throw new Error(
      `deployer exited (${child.exitCode ?? child.signalCode}):\n${output.slice(-15).join('\n')}`,
    );
  };

  beforeAll(async () => {
    github = await new GitHubStandIn().start();
    git = await new GitServer().start();
    slack = await new SlackListener().start();
    const repo = git.createRepo('acme', repoName);
    repo.write({ busybox }, 0o755);
    repo.write({
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "3600"]\n',
    });
    sha = repo.commit('v1');
    repo.push('live');

    docker(
      'service',
      'create',
      '--detach',
      '--name',
      service,
      '--update-monitor',
      '2s',
      '--stop-grace-period',
      '1s',
      pushInitialImage(`acme/${id}-initial`),
    );

    const dir = mkdtempSync(join(tmpdir(), 'deployer-secrets-'));
    const dockerConfig = dockerConfigWithContext('testhost');
    const configJson = join(dockerConfig, 'config.json');
    const existing = existsSync(configJson) ? JSON.parse(readFileSync(configJson, 'utf8')) : {};
    writeFileSync(
      configJson,
      JSON.stringify({
        ...existing,
        auths: { [AUTH_REGISTRY]: { auth: b64(`${AUTH_USER}:${AUTH_PASSWORD}`) } },
      }),
    );
    const slackFile = join(dir, 'slack-url');
    writeFileSync(
      slackFile,
      `${new URL(slack.url).origin}/services/T0FAKE/B0FAKE/${secrets.SLACK_WEBHOOK_URL[0]}\n`,
    );
    const flavourFile = join(dir, 'flavour.json');
    writeFileSync(
      flavourFile,
      JSON.stringify({
        name: flavourName,
        ...testFlavour({
          stagingRepo: `${AUTH_REGISTRY}/staging-${id}`,
          repos: [
            testRepo(`acme/${repoName}`, {
              deployments: [
                {
                  branch: 'live',
                  target: `${AUTH_REGISTRY}/acme/${id}:live`,
                  services: [{ name: service, context: 'testhost', uri: 'web.example.org' }],
                },
              ],
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
        PRIVATE_KEY: secrets._privateKeyPem[0],
        WEBHOOK_SECRET: secrets.WEBHOOK_SECRET[0],
        ...github.env(),
        LOG_LEVEL: 'trace',
        LOG_FORMAT: 'json',
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: redisUrl(),
        DEPLOYER_CONFIG: flavourFile,
        DEPLOYER_REDIS_PREFIX: prefix,
        DEPLOYER_WORK_DIR: join(dir, 'builds'),
        DEPLOYER_CATCH_UP_MS: '3600000',
        DOCKER_CONFIG: dockerConfig,
        DEPLOYER_SLACK_WEBHOOK_FILE: slackFile,
        DEPLOYER_SSH_KEY: process.env.TEST_SSH_KEY ?? '',
        DEPLOYER_KNOWN_HOSTS: process.env.TEST_KNOWN_HOSTS ?? '',
        DEPLOYER_SSH_TIMEOUT_MS: '5000',
        DEPLOYER_CONVERGE_TIMEOUT_MS: '60000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = { stdout: '', stderr: '' };
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]!.on('data', (chunk: Buffer) => {
        const lines = (partial[stream] + chunk.toString('utf8')).split('\n');
        partial = { ...partial, [stream]: lines.pop() ?? '' };
        output.push(...lines.map((l) => `${stream}: ${l}`));
      });
    }
    url = await waitFor(
      'the receiver to listen',
      () => {
        for (const line of output) {
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(line);
          if (m && line.includes('receiver listening')) return m[1];
        }
        return exited();
      },
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    // SECRETS_TEST_LOG=<file> keeps the deployer's output for a look afterwards.
    if (process.env.SECRETS_TEST_LOG)
      writeFileSync(process.env.SECRETS_TEST_LOG, output.join('\n'));
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    await github?.stop();
    await git?.stop();
    await slack?.stop();
    try {
      docker('service', 'rm', service);
    } catch {
      // already gone
    }
  });

  it('a build, a staging push, a deploy and a Slack message later: zero hits', async () => {
    const body = JSON.stringify(
      pushPayload(
        { owner: 'acme', name: repoName, cloneUrl: git.cloneUrl('acme', repoName) },
        'live',
        sha,
      ),
    );
    const res = await sendWebhook(url, 'push', undefined, {
      body,
      signature: sign(body, secrets.WEBHOOK_SECRET[0]),
    });
    expect(res.status).toBe(200);
    // A delivery signed with another secret, so the refusal is logged too.
    const refused = await sendWebhook(url, 'push', undefined, { body, delivery: randomUUID() });
    expect(refused.status).toBe(400);

    const status = await waitFor(
      'the deployment to finish',
      () =>
        exited() ??
        github.requests.find(
          (r) =>
            r.path.endsWith('/statuses') &&
            ['success', 'failure', 'error'].includes((r.body as { state?: string }).state ?? ''),
        ),
      120_000,
    );
    expect(status.body, output.slice(-40).join('\n')).toMatchObject({ state: 'success' });
    // The deployment's message is posted as its build starts, and again as it ends.
    await waitFor(
      'the Slack message of the end',
      () => (slack.messages.some((m) => m.endsWith('|deployed>')) ? true : undefined),
      20_000,
    );
    await waitFor('the deploy job to finish', () =>
      output.some((l) => l.includes('"msg":"deploy finished"')) ? true : undefined,
    );
    await waitFor('the check run to conclude', () =>
      github.checkRunWrites().some((r) => (r.body as { conclusion?: string }).conclusion)
        ? true
        : undefined,
    );
    // The token was used, the registry password too: the run really handled the secrets.
    expect(git.authHeaders).toContain(`Basic ${secrets.INSTALLATION_TOKEN[1]}`);
    // The worker logs a job's end after its last GitHub write: wait for the line.
    for (const msg of ['commit accepted', 'build job completed', 'deploy finished'])
      await waitFor(`the log line "${msg}"`, () =>
        output.some((line) => line.includes(`"msg":"${msg}"`)) ? true : undefined,
      );

    const found: string[] = [];
    output.forEach((line, i) => found.push(...leaks(secrets, `log line ${i + 1}`, line)));
    for (const r of github.requests)
      found.push(
        ...leaks(secrets, `GitHub request ${r.method} ${r.path}`, JSON.stringify(r.body) ?? ''),
      );
    slack.messages.forEach((m, i) => found.push(...leaks(secrets, `Slack message ${i + 1}`, m)));

    const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    try {
      const ns = `${prefix}:${flavourName}`;
      const values = await dumpRedis(redis, `${prefix}:*`);
      expect(values.size).toBeGreaterThan(5);
      for (const [key, value] of values) found.push(...leaks(secrets, `Redis key ${key}`, value));
      // Every queue's own view, read as the deployer reads it: job data, results, failures, logs.
      const queues = new Queues(redis, ns);
      const all = [
        queues.intake.queue,
        queues.checks,
        queues.control,
        queues.deploy,
        queues.build('linux-x86_64'),
      ];
      let jobLogLines = 0;
      const jobsIn = new Map<string, number>();
      for (const queue of all) {
        const { name } = queue;
        const jobs = await queue.getJobs();
        jobsIn.set(name, jobs.length);
        for (const job of jobs) {
          const { logs } = await queue.getJobLogs(job.id!);
          jobLogLines += logs.length;
          const where = `job ${name}/${job.id}`;
          found.push(...leaks(secrets, `${where} log`, logs.join('\n')));
          found.push(...leaks(secrets, `${where} data`, JSON.stringify(job.data)));
          found.push(
            ...leaks(
              secrets,
              `${where} result`,
              JSON.stringify([job.returnvalue, job.failedReason, job.stacktrace]),
            ),
          );
        }
      }
      await queues.close();
      expect(jobsIn.get('build-linux-x86_64')).toBeGreaterThan(0);
      expect(jobsIn.get('deploy')).toBeGreaterThan(0);
      expect(jobLogLines).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
    expect(found).toEqual([]);
  }, 150_000);
});
