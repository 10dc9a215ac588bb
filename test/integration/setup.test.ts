import { spawn, spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { githubApiUrl } from '../../src/config/env.js';
import { startSetup, type RunningSetup, type SetupOptions } from '../../src/entry/setup.js';
import { readLoginSettings } from '../../src/web/github-login.js';
import { launchChromium } from '../helpers/chromium.js';
import { freePort } from '../helpers/harness.js';
import { ManifestStandIn } from '../helpers/manifest-stand-in.js';

const root = join(import.meta.dirname, '../..');
const appYml = parseYaml(readFileSync(join(root, 'app.yml'), 'utf8')) as Record<string, unknown>;
const PUBLIC = 'https://deploy.acme.example';

const EXISTING_ENV = `# Deployer settings for acme
REDIS_URL=redis://redis.acme.internal:6379
APP_ID=
WEBHOOK_SECRET=old-webhook-secret
PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----
b2xkIGtleQ==
-----END RSA PRIVATE KEY-----"
# The App's OAuth credentials:
# GITHUB_CLIENT_ID=
DEPLOYER_FLAVOUR=tarides
`;

let github: ManifestStandIn;
let dir: string;
let setup: RunningSetup | undefined;

beforeEach(async () => {
  github = await new ManifestStandIn().start();
  dir = mkdtempSync(join(tmpdir(), 'deployer-setup-'));
});

afterEach(async () => {
  await setup?.close();
  setup = undefined;
  await github.stop();
  expect(github.problems).toEqual([]);
});

function options(over: Partial<SetupOptions> = {}): SetupOptions {
  return {
    appYml: join(root, 'app.yml'),
    envFile: join(dir, '.env'),
    publicUrl: PUBLIC,
    webhookPath: '/api/github/webhooks',
    github: { gheHost: github.host, gheProtocol: 'http' },
    apiUrl: githubApiUrl(github.env()),
    host: '127.0.0.1',
    port: 0,
    flavour: { name: 'acme', repos: ['acme/web', 'acme/api'] },
    ...over,
  };
}

/** The registration page's form, read back out of the HTML as a browser would. */
async function registrationForm(url: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const html = await res.text();
  const form = /<form method="post" action="([^"]+)">/.exec(html);
  const input = /<input type="hidden" name="manifest" value="([^"]*)">/.exec(html);
  expect(form, html).not.toBeNull();
  expect(input, html).not.toBeNull();
  const unescape = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return { action: unescape(form![1]), manifestJson: unescape(input![1]), html };
}

/** Posts the form to the stand-in's "new App" page; GitHub answers with the redirect back. */
async function submit(action: string, manifestJson: string): Promise<string> {
  const res = await fetch(action, {
    method: 'POST',
    body: new URLSearchParams({ manifest: manifestJson }),
    redirect: 'manual',
  });
  expect(res.status, await res.clone().text()).toBe(302);
  return res.headers.get('location')!;
}

/** The environment a shell has after `set -a; . ./.env; set +a`, as the README says to start. */
function sourced(envFile: string): Record<string, string> {
  const r = spawnSync('sh', ['-c', 'set -a; . "$1"; set +a; env -0', 'sh', envFile], {
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return Object.fromEntries(
    r.stdout
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

describe('deployer setup', () => {
  it('registers the App from app.yml on GitHub Enterprise and merges its settings into .env', async () => {
    writeFileSync(join(dir, '.env'), EXISTING_ENV);
    setup = await startSetup(options({ org: 'acme' }));

    const { action, manifestJson } = await registrationForm(setup.url);
    const state = new URL(action).searchParams.get('state');
    expect(state).toMatch(/^[0-9a-f]{40}$/);
    expect(action).toBe(
      `http://${github.host}/organizations/acme/settings/apps/new?state=${state}`,
    );
    expect(JSON.parse(manifestJson)).toEqual({
      name: appYml.name,
      description: appYml.description,
      url: `${PUBLIC}/`,
      hook_attributes: { url: `${PUBLIC}/api/github/webhooks`, active: true },
      redirect_url: `${setup.url}/setup/done`,
      callback_urls: [`${PUBLIC}/login/callback`],
      public: false,
      default_events: appYml.default_events,
      default_permissions: appYml.default_permissions,
    });

    const back = await submit(action, manifestJson);
    expect(github.posts).toMatchObject([{ path: '/organizations/acme/settings/apps/new', state }]);
    const done = await fetch(back);
    const page = await done.text();
    expect(done.status, page).toBe(200);
    const [app] = github.registered;
    expect(page).toContain(`href="${app.html_url}/installations/new"`);
    expect(page).toContain('acme/web');
    const registration = await setup.registered;
    expect(registration.installUrl).toBe(`http://${github.host}/apps/deployer/installations/new`);
    // Unauthenticated, no body: the code in the path is all GitHub needs.
    const code = new URL(back).searchParams.get('code');
    expect(github.conversions).toEqual([
      { path: `/app-manifests/${code}/conversions`, body: '', authorization: undefined },
    ]);

    const envFile = join(dir, '.env');
    const text = readFileSync(envFile, 'utf8');
    const keyFile = join(dir, 'secrets', `github-app-${app.id}.pem`);
    const expected = {
      APP_ID: String(app.id),
      PRIVATE_KEY_PATH: keyFile,
      GITHUB_APP_KEY_FILE: keyFile,
      WEBHOOK_SECRET: app.webhook_secret,
      GITHUB_CLIENT_ID: app.client_id,
      GITHUB_CLIENT_SECRET: app.client_secret,
      GHE_HOST: github.host,
      GHE_PROTOCOL: 'http',
      REDIS_URL: 'redis://redis.acme.internal:6379',
      DEPLOYER_FLAVOUR: 'tarides',
    };
    // Read by a shell (the README's way and docker compose's interpolation) and by Node's --env-file.
    for (const env of [sourced(envFile), parseEnv(text)]) {
      expect(env).toMatchObject(expected);
      expect(env.PRIVATE_KEY).toBeUndefined(); // it would win over PRIVATE_KEY_PATH
      expect(env.DEPLOYER_SESSION_SECRET).toMatch(/^[0-9a-f]{64}$/);
      expect(readLoginSettings(env)).toMatchObject({ clientId: app.client_id });
    }
    expect(readFileSync(keyFile, 'utf8')).toBe(app.pem);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // Nothing that was there is lost: old values stay as comments, comments stay in place.
    for (const line of EXISTING_ENV.trim().split('\n')) {
      expect(text.includes(line) || text.includes(`# ${line}`), line).toBe(true);
    }
    expect(text).toContain('# WEBHOOK_SECRET=old-webhook-secret\n');
    expect(text).toContain('# b2xkIGtleQ==\n');
    expect(text).toContain(`# GITHUB_CLIENT_ID=\nGITHUB_CLIENT_ID=${app.client_id}\n`);
    expect(text).toContain(`\nAPP_ID=${app.id}\n`);
    expect(text).not.toMatch(/^APP_ID=$/m);

    // The one-time code is spent: a reload of the done page shows it again without asking GitHub.
    expect((await fetch(back)).status).toBe(200);
    expect(github.conversions).toHaveLength(1);
  });

  it("registers for the user's account on github.com's URL shape and writes a new private .env", async () => {
    setup = await startSetup(options({ name: 'Deployer (acme)' }));
    const { action, manifestJson } = await registrationForm(setup.url);
    expect(new URL(action).pathname).toBe('/settings/apps/new');
    expect(JSON.parse(manifestJson)).toMatchObject({ name: 'Deployer (acme)' });
    await fetch(await submit(action, manifestJson));
    const { app } = await setup.registered;
    const env = parseEnv(readFileSync(join(dir, '.env'), 'utf8'));
    expect(env).toMatchObject({ APP_ID: String(app.id), GITHUB_CLIENT_ID: app.client_id });
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
  });

  it('refuses an answer that does not carry the state of its page, and asks GitHub nothing', async () => {
    setup = await startSetup(options());
    const code = github.issueCode({ name: 'x' });
    const res = await fetch(`${setup.url}/setup/done?code=${code}&state=forged`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('does not come from the registration page');
    expect(github.conversions).toEqual([]);
    expect(existsSync(join(dir, '.env'))).toBe(false);
  });

  it("shows GitHub's refusal of a spent code and writes nothing; a fresh code then works", async () => {
    setup = await startSetup(options());
    const { action, manifestJson } = await registrationForm(setup.url);
    const state = new URL(action).searchParams.get('state')!;
    const refused = await fetch(`${setup.url}/setup/done?code=spent&state=${state}`);
    expect(refused.status).toBe(502);
    expect(await refused.text()).toContain('GitHub answered 404');
    expect(existsSync(join(dir, '.env'))).toBe(false);
    expect((await fetch(await submit(action, manifestJson))).status).toBe(200);
    expect(parseEnv(readFileSync(join(dir, '.env'), 'utf8')).APP_ID).toBe(
      String(github.registered[0].id),
    );
  });

  it('answers no page to a request for another host name (a rebound DNS name)', async () => {
    setup = await startSetup(options());
    const port = new URL(setup.url).port;
    const res = await new Promise<number>((resolve, reject) => {
      const headers = { host: `evil.example:${port}` };
      get({ host: '127.0.0.1', port, path: '/', headers }, (r) => resolve(r.statusCode ?? 0)).on(
        'error',
        reject,
      );
    });
    expect(res).toBe(421);
  });

  it('registers through a real browser: the button posts the manifest, GitHub sends it back', async () => {
    setup = await startSetup(options({ org: 'acme' }));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(setup.url);
      await page.getByRole('button', { name: 'Register GitHub App' }).click();
      await page.waitForURL(/\/setup\/done\?/);
      const install = page.getByRole('link', { name: /^Install / });
      const { app } = await setup.registered;
      expect(await install.getAttribute('href')).toBe(`${app.html_url}/installations/new`);
      expect(github.posts[0].manifest).toMatchObject({ redirect_url: `${setup.url}/setup/done` });
    } finally {
      await browser.close();
    }
  });
});

describe('the deployer command', () => {
  const deployer = (args: string[], env: Record<string, string>) =>
    spawn(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });

  it('`setup` serves the page, writes .env and says where to install the App, then exits', async () => {
    const port = await freePort();
    const envFile = join(dir, '.env');
    const child = deployer(
      ['setup', '--port', String(port), '--url', PUBLIC, '--env-path', envFile],
      { ...github.env(), DEPLOYER_FLAVOUR: 'tarides' },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('Open ') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(stdout, stderr).toContain(`Open http://127.0.0.1:${port} in a browser`);
    const { action, manifestJson } = await registrationForm(`http://127.0.0.1:${port}/`);
    expect(JSON.parse(manifestJson)).toMatchObject({ callback_urls: [`${PUBLIC}/login/callback`] });
    expect((await fetch(await submit(action, manifestJson))).status).toBe(200);
    expect(await exited, stderr).toBe(0);
    const [app] = github.registered;
    expect(stdout).toContain(
      `Install it on the repositories of flavour tarides: ${app.html_url}/installations/new`,
    );
    expect(parseEnv(readFileSync(join(dir, '.env'), 'utf8')).APP_ID).toBe(String(app.id));
  });

  it('`start` without APP_ID says to run `deployer setup`, in one line, before touching Redis', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', 'start'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: 'redis://127.0.0.1:1' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'APP_ID: not set; run `deployer setup` to register the GitHub App and write its settings to .env (or set the id of an existing App)\n',
    );
  });
});
