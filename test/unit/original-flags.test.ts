import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowAccounts } from '../../src/config/allowlist.js';
import { readEnv } from '../../src/config/env.js';
import { resolveFlavour } from '../../src/config/flavour.js';
import { parseFlavour } from '../../src/config/load.js';
import { originalFlagsEnv } from '../../src/entry/original-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'original-flags-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("the original deployer's options as environment variables", () => {
  it('sets the variable each option names, over what the environment had', () => {
    const oauth = file(
      'oauth.json',
      JSON.stringify({ client_id: 'id', client_secret: 'sec', scopes: ['user:email'] }),
    );
    const env = originalFlagsEnv(
      {
        flavour: 'ocaml',
        githubAppId: '7',
        githubPrivateKeyFile: '/keys/app.pem',
        githubWebhookSecretFile: '/run/secrets/webhook',
        githubAccountAllowlist: 'ocaml,ocurrent',
        githubOauth: oauth,
        confirmAutoRelease: '120',
        port: '8080',
        host: '0.0.0.0',
        listenPrometheus: '9090',
        stagingPasswordFile: '/run/secrets/staging',
      },
      {
        PRIVATE_KEY: 'a key that would win over the file',
        WEBHOOK_SECRET: 'would win over the file',
        DEPLOYER_REGISTRY_USER: 'ocurrentbuilder',
        PORT: '3000',
        KEPT: 'yes',
      },
    );
    expect(env).toEqual({
      DEPLOYER_FLAVOUR: 'ocaml',
      APP_ID: '7',
      PRIVATE_KEY_PATH: '/keys/app.pem',
      WEBHOOK_SECRET_FILE: '/run/secrets/webhook',
      DEPLOYER_ACCOUNT_ALLOWLIST: 'ocaml,ocurrent',
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 'sec',
      DEPLOYER_CONFIRM_AUTO_RELEASE_MS: '120000',
      PORT: '8080',
      HOST: '0.0.0.0',
      DEPLOYER_METRICS_PORT: '9090',
      DEPLOYER_REGISTRY_USER: 'ocurrentbuilder',
      DEPLOYER_REGISTRY_PASSWORD_FILE: '/run/secrets/staging',
      KEPT: 'yes',
    });
    const read = readEnv(env);
    expect(read).toMatchObject({
      confirmAutoReleaseMs: 120_000,
      accountAllowlist: ['ocaml', 'ocurrent'],
      metricsPort: 9090,
    });
    expect(resolveFlavour(read).name).toBe('ocaml-org');
  });

  it('leaves the environment alone without options', () => {
    expect(originalFlagsEnv({}, { LOG_LEVEL: 'warn' })).toEqual({ LOG_LEVEL: 'warn' });
  });

  it.each([
    [{ verbose: 1 }, 'info'],
    [{ verbose: 2 }, 'debug'],
    [{ verbosity: 'quiet' }, 'silent'],
    [{ verbosity: 'warning' }, 'warn'],
    [{ verbosity: 'debug', verbose: 1 }, 'debug'],
  ])('logs at the level of %j: %s', (flags, level) => {
    expect(originalFlagsEnv(flags, {}).LOG_LEVEL).toBe(level);
  });

  it.each([
    [{ submissionService: 'x.cap' }, /--submission-service: there is no OCluster scheduler here/],
    [
      { confirmAutoRelease: 'soon' },
      /--confirm-auto-release: expected a positive whole number, got "soon"/,
    ],
    [{ port: '0' }, /--port: expected a positive whole number, got "0"/],
    [{ listenPrometheus: 'x' }, /--listen-prometheus: expected a positive whole number/],
    [
      { verbosity: 'loud' },
      /--verbosity: expected one of quiet, error, warning, info, debug, got "loud"/,
    ],
    [
      { stagingPasswordFile: '/run/secrets/hub' },
      /--staging-password-file: set DEPLOYER_REGISTRY_USER/,
    ],
    [
      { githubOauth: join(dir, 'missing.json') },
      /--github-oauth: cannot read .*missing\.json as JSON/,
    ],
    [
      { githubOauth: file('camel.json', '{"clientId":"x","clientSecret":"y"}') },
      /expected \{"client_id": "…", "client_secret": "…"\}/,
    ],
  ])('refuses %j', (flags, message) => {
    expect(() => originalFlagsEnv(flags, {})).toThrow(message);
  });

  it('refuses account names GitHub would not give', () => {
    expect(() => readEnv({ DEPLOYER_ACCOUNT_ALLOWLIST: 'acme,no/slash' })).toThrow(
      'DEPLOYER_ACCOUNT_ALLOWLIST: expected GitHub account names, comma-separated, got "no/slash"',
    );
    expect(() => readEnv({ DEPLOYER_ACCOUNT_ALLOWLIST: ' , ' })).toThrow(
      'DEPLOYER_ACCOUNT_ALLOWLIST',
    );
  });
});

describe('the account allowlist', () => {
  const flavour = parseFlavour(
    {
      name: 'demo',
      baseUrl: 'http://localhost',
      repos: ['Acme/web', 'acme/api', 'other/site'].map((r) => {
        const [owner, name] = r.split('/');
        return { owner, name, builds: [{ dockerfile: 'Dockerfile' }] };
      }),
    },
    'test',
  );

  it('keeps the repositories of listed accounts, whatever their case, and names the others', () => {
    const { flavour: served, leftOut } = allowAccounts(flavour, ['acme']);
    expect(served.repos.map((r) => `${r.owner}/${r.name}`)).toEqual(['Acme/web', 'acme/api']);
    expect(leftOut).toEqual(['other/site']);
  });

  it('serves every repository without a list', () => {
    expect(allowAccounts(flavour, undefined)).toEqual({ flavour, leftOut: [] });
  });
});
