import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, testPrivateKey } from '../helpers/harness.js';

const root = join(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'preflight-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};
const DOWN = 'redis://127.0.0.1:1';
// Run from `tmp`, so the CLI and tsx are named by absolute path.
const cli = join(root, 'src/entry/cli.ts');
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;

/** The environment of a new operator's shell: none of Deployer's or Probot's settings. */
function shellEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env))
    if (
      /^(APP_ID|PRIVATE_KEY|WEBHOOK_SECRET|LOG_|PORT|HOST|REDIS_URL|DEPLOYER_|GITHUB_)/.test(name)
    )
      delete env[name];
  return { ...env, DEPLOYER_FLAVOUR: 'mirage', REDIS_URL: DOWN, ...extra };
}

function deployer(args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', tsx, cli, ...args], {
    cwd: tmp, // no stray *.pem for Probot to find
    env: shellEnv(env),
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}
const app = { APP_ID: '12345', WEBHOOK_SECRET: 's' };

describe('start-up errors name the setting and what was expected, in one line', () => {
  it.each([
    [{ APP_ID: 'abc' }, `APP_ID: expected the App's numeric id, got "abc"`],
    [
      { ...app },
      "PRIVATE_KEY or PRIVATE_KEY_PATH: not set; set PRIVATE_KEY_PATH to the App's .pem file (or run `deployer setup`)",
    ],
    [
      { ...app, PRIVATE_KEY_PATH: join(tmp, 'missing.pem') },
      `PRIVATE_KEY_PATH: no such file ${join(tmp, 'missing.pem')}`,
    ],
    [{ ...app, PRIVATE_KEY_PATH: tmp }, `PRIVATE_KEY_PATH (${tmp}): cannot read it (EISDIR)`],
    [
      { ...app, PRIVATE_KEY: 'not a key' },
      "PRIVATE_KEY: expected the App's private key (the .pem file's text, or it in base64)",
    ],
    [
      {
        ...app,
        PRIVATE_KEY:
          '-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n',
      },
      'PRIVATE_KEY: not a PEM private key (the .pem file GitHub gave for the App)',
    ],
    [{ ...app, PORT: 'http' }, 'PORT: expected a positive whole number, got "http"'],
    [{ ...app, PORT: '70000' }, 'PORT: expected a port (1-65535), got "70000"'],
    [{ ...app, PORT: '-1' }, 'PORT: expected a positive whole number, got "-1"'],
    [
      { ...app, LOG_LEVEL: 'verbose' },
      'LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
    ],
    [{ ...app, LOG_FORMAT: 'text' }, 'LOG_FORMAT: expected one of json, pretty, got "text"'],
    [
      { ...app, REDIS_URL: 'localhost:6379' },
      'REDIS_URL: expected redis://[user:password@]host[:port][/db] (rediss:// for TLS) or a socket path, got "localhost:6379"',
    ],
    [
      { ...app, REDIS_URL: 'http://:hunter2@redis:6379' },
      'REDIS_URL: expected redis://[user:password@]host[:port][/db] (rediss:// for TLS) or a socket path, got "http://:***@redis:6379"',
    ],
  ])('serve with %j', (env, message) => {
    const r = deployer(['serve'], env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `${message}\n` });
  });

  it('names the file of a PRIVATE_KEY_PATH that holds no key', () => {
    const path = file('garbage.pem', 'hello\n');
    const r = deployer(['worker'], { ...app, PRIVATE_KEY_PATH: path });
    expect(r.stderr).toBe(
      `PRIVATE_KEY_PATH (${path}): not a PEM private key (the .pem file GitHub gave for the App)\n`,
    );
    expect(r.code).toBe(2);
  });

  it('`pending` and `confirm` say Redis cannot be reached within seconds, not hang', () => {
    for (const args of [['pending'], ['confirm', 'job-1', 'deploy']]) {
      const r = deployer(args, { REDIS_URL: 'redis://:hunter2@127.0.0.1:1/0' });
      expect(r.stderr).toBe('cannot reach Redis at redis://:***@127.0.0.1:1/0 (REDIS_URL)\n');
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(15_000);
    }
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(deployer(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

/** A process's JSON log lines for `ms`, then it is stopped. */
async function logFor(
  args: string[],
  env: Record<string, string>,
  ms: number,
): Promise<{ level: number; msg: string }[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', ...args], {
    cwd: root,
    env: shellEnv(env),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => setTimeout(resolve, ms));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
}

describe('logging while Redis is away', () => {
  const worker = async (env: Record<string, string>) =>
    logFor(
      ['worker'],
      {
        ...app,
        PRIVATE_KEY: testPrivateKey(),
        LOG_FORMAT: 'json',
        DEPLOYER_METRICS_PORT: String(await freePort()),
        ...env,
      },
      6_000,
    );

  it('says so once, however often the connection is retried; logs at info by default', async () => {
    const lines = await worker({});
    const unreachable = lines.filter((l) => l.msg.startsWith('cannot reach Redis'));
    expect(unreachable.map((l) => l.msg)).toEqual([`cannot reach Redis at ${DOWN} (REDIS_URL)`]);
    expect(lines.find((l) => l.msg === 'metrics listening')?.level).toBe(30);
  }, 30_000);

  it('`local` honours LOG_LEVEL and LOG_FORMAT', async () => {
    const json = await logFor(['local', '--poll', '3600'], { LOG_FORMAT: 'json' }, 5_000);
    expect(json.map((l) => [l.level, l.msg])).toContainEqual([
      50,
      `cannot reach Redis at ${DOWN} (REDIS_URL)`,
    ]);
    const quiet = await logFor(
      ['local', '--poll', '3600'],
      { LOG_FORMAT: 'json', LOG_LEVEL: 'fatal' },
      5_000,
    );
    expect(quiet).toEqual([]);
  }, 30_000);
});
