import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { buildManifest, newAppUrl, readAppYml, type GitHubHost } from '../config/app-manifest.js';
import { updateEnvFile, type EnvUpdate } from '../config/env-file.js';
import { convertManifest, type RegisteredApp } from '../github/manifest-conversion.js';
import { setupPages } from '../web/setup-page.js';
import { CALLBACK_PATH } from '../web/sign-in-routes.js';

export interface SetupOptions {
  /** The manifest's source: events, permissions, description. */
  appYml: string;
  /** The `.env` file the App's settings are merged into; the key goes to `secrets/` beside it. */
  envFile: string;
  /** The receiver's public address (webhooks, web UI, sign-in callback). */
  publicUrl: string;
  webhookPath: string;
  github: GitHubHost;
  /** GitHub's REST API (https://api.github.com, or GHE's /api/v3). */
  apiUrl: string;
  /** Register the App for this organization instead of the user. */
  org?: string;
  name?: string;
  /** The local page: loopback only, since it ends with secrets written to disk. */
  host: string;
  port: number;
  flavour: { name: string; repos: string[] };
}

export interface Registration {
  app: RegisteredApp;
  installUrl: string;
  keyFile: string;
  /** The keys written to the `.env` file. */
  written: string[];
}

export interface RunningSetup {
  /** The page to open in a browser. */
  url: string;
  /** Settles once GitHub's code has been exchanged and everything is written. */
  registered: Promise<Registration>;
  close(): Promise<void>;
}

const DONE_PATH = '/setup/done';

/**
 * GitHub's App manifest flow, as `probot run` does it without APP_ID: a local page
 * posts the manifest built from app.yml to GitHub; GitHub sends the browser back to
 * DONE_PATH with a one-time code, exchanged for the App's id, key and secrets.
 */
export async function startSetup(opts: SetupOptions): Promise<RunningSetup> {
  const appYml = readAppYml(opts.appYml);
  const envFile = resolve(opts.envFile);
  // As given, so that the pages show what the operator typed; `./` so that `. ./.env` works in sh.
  const shownEnvFile =
    isAbsolute(opts.envFile) || /^\.\.?\//.test(opts.envFile) ? opts.envFile : `./${opts.envFile}`;
  const state = randomBytes(20).toString('hex');
  const render = setupPages();
  let registration: Promise<Registration> | undefined;
  let settle!: (r: Registration) => void;
  const registered = new Promise<Registration>((r) => (settle = r));

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => page(res, 500, 'failed', { message: err.message }));
  });
  await new Promise<void>((r) => server.listen(opts.port, opts.host, r));
  const { port } = server.address() as AddressInfo;
  const local = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  const manifest = buildManifest(
    appYml,
    {
      publicUrl: opts.publicUrl,
      webhookPath: opts.webhookPath,
      callbackPath: CALLBACK_PATH,
      redirectUrl: `${local}${DONE_PATH}`,
    },
    opts.name,
  );
  // Only this address: a page of another site resolving its name to loopback cannot drive the flow.
  const hosts = new Set([new URL(local).host, `localhost:${port}`]);

  function page(
    res: ServerResponse,
    status: number,
    name: Parameters<typeof render>[0],
    data: object,
  ) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(render(name, data));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hosts.has(req.headers.host ?? '')) return void res.writeHead(421).end();
    const url = new URL(req.url ?? '/', local);
    if (req.method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
    if (url.pathname === '/') {
      return page(res, 200, 'register', {
        manifest,
        manifestJson: JSON.stringify(manifest),
        action: newAppUrl(opts.github, state, opts.org),
        githubHost: opts.github.gheHost ?? 'github.com',
        org: opts.org,
        appYml: opts.appYml,
        envFile: shownEnvFile,
        flavour: opts.flavour.name,
        repos: opts.flavour.repos,
      });
    }
    if (url.pathname !== DONE_PATH) return void res.writeHead(404).end();
    const code = url.searchParams.get('code');
    if (url.searchParams.get('state') !== state || !code) {
      return page(res, 400, 'failed', {
        message: 'This answer does not come from the registration page served here: start again.',
      });
    }
    registration ??= register(code).catch((err: Error & { status?: number }) => {
      registration = undefined; // another code may still work
      throw err;
    });
    try {
      const done = await registration;
      page(res, 200, 'done', {
        ...done,
        envFile: shownEnvFile,
        flavour: opts.flavour.name,
        repos: opts.flavour.repos,
      });
      settle(done);
    } catch (err) {
      const status = (err as { status?: number }).status;
      const message = status
        ? `GitHub answered ${status}: ${(err as Error).message}`
        : (err as Error).message;
      page(res, 502, 'failed', { message });
    }
  }

  async function register(code: string): Promise<Registration> {
    const app = await convertManifest(code, opts.apiUrl);
    const keyFile = join(dirname(envFile), 'secrets', `github-app-${app.id}.pem`);
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, app.pem, { mode: 0o600 });
    const update = appSettings(app, keyFile, opts.github, envFile);
    try {
      updateEnvFile(
        envFile,
        update,
        `GitHub App ${app.html_url}, registered by \`deployer setup\``,
      );
    } catch (err) {
      // GitHub gives these once: show them rather than lose them.
      const lines = Object.entries(update).filter(([, v]) => v !== null);
      throw new Error(
        `${app.html_url} is registered, its key is in ${keyFile}, but ${envFile} could not be written (${(err as Error).message}). Set these yourself:\n` +
          lines.map(([k, v]) => `${k}=${v}`).join('\n'),
      );
    }
    const written = Object.keys(update).filter((k) => update[k] !== null);
    return { app, keyFile, written, installUrl: `${app.html_url}/installations/new` };
  }

  return {
    url: local,
    registered,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * What Probot and the deployer read: the key as a file (docker-compose.yml mounts
 * GITHUB_APP_KEY_FILE; a PRIVATE_KEY left in the file would win, so it is commented
 * out), and a session secret, which sign-in needs once the OAuth credentials are set.
 */
function appSettings(app: RegisteredApp, keyFile: string, github: GitHubHost, envFile: string) {
  const current = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  const update: EnvUpdate = {
    APP_ID: String(app.id),
    PRIVATE_KEY: null,
    PRIVATE_KEY_PATH: keyFile,
    GITHUB_APP_KEY_FILE: keyFile,
    ...(app.webhook_secret ? { WEBHOOK_SECRET: app.webhook_secret } : {}),
    GITHUB_CLIENT_ID: app.client_id,
    GITHUB_CLIENT_SECRET: app.client_secret,
  };
  if ((current.DEPLOYER_SESSION_SECRET ?? '').length < 32)
    update.DEPLOYER_SESSION_SECRET = randomBytes(32).toString('hex');
  if (github.gheHost) update.GHE_HOST = github.gheHost;
  if (github.gheProtocol) update.GHE_PROTOCOL = github.gheProtocol;
  return update;
}
