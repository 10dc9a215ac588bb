import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { readDeploySettings } from '../../src/wiring/deploy-deps.js';

const homes: string[] = [];
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});
/** A HOME of its own, so what ~/.ssh holds on this machine does not matter. */
function home(keys: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-home-'));
  homes.push(dir);
  mkdirSync(join(dir, '.ssh'));
  for (const k of keys) writeFileSync(join(dir, '.ssh', k), 'key');
  return dir;
}

describe('readDeploySettings', () => {
  it('has a default for everything, under HOME', () => {
    const h = home();
    expect(readDeploySettings({ HOME: h })).toEqual({
      dockerConfigDir: join(h, '.docker'),
      registryAuth: { account: undefined, authFile: undefined, tokenHosts: [] },
      insecureRegistries: [],
      slackWebhookFile: undefined,
      slackTokenFile: undefined,
      slackChannel: undefined,
      slackApiUrl: undefined,
      convergeTimeoutMs: 300_000,
      ssh: {
        knownHostsPath: join(h, '.ssh/known_hosts'),
        connectTimeoutMs: 20_000,
        commandTimeoutMs: 600_000,
        defaultKeyPaths: [join(h, '.ssh/id_ed25519'), join(h, '.ssh/id_rsa')],
        home: h,
      },
    });
  });

  it('reads ~/.ssh/config when there is one', () => {
    const h = home(['config']);
    expect(readDeploySettings({ HOME: h }).ssh.configPath).toBe(join(h, '.ssh/config'));
    expect(readDeploySettings({ HOME: h, DEPLOYER_SSH_CONFIG: 'none' }).ssh.configPath).toBe(
      undefined,
    );
    expect(() => readDeploySettings({ HOME: h, DEPLOYER_SSH_CONFIG: '~/nope' })).toThrow(
      new ConfigError(
        `DEPLOYER_SSH_CONFIG: no such file "${join(h, 'nope')}" (set it to none for no file)`,
      ),
    );
  });

  it('reads every variable', () => {
    const h = home(['config-deploy']);
    expect(
      readDeploySettings({
        HOME: h,
        DOCKER_CONFIG: '/etc/deployer/docker',
        DEPLOYER_REGISTRY: 'registry.example.com:5000',
        DEPLOYER_REGISTRY_USER: 'deployer',
        DEPLOYER_REGISTRY_PASSWORD_FILE: '/run/secrets/registry-password',
        DEPLOYER_REGISTRY_AUTH_FILE: '/run/secrets/registry-auths.json',
        DEPLOYER_REGISTRY_TOKEN_HOSTS: 'auth.example.com, Login.Example.org:8443',
        DEPLOYER_INSECURE_REGISTRIES: ' registry.lan:5000 , 10.0.0.9:5000,,',
        DEPLOYER_SLACK_WEBHOOK_FILE: '/run/secrets/slack-webhook',
        DEPLOYER_CONVERGE_TIMEOUT_MS: '90000',
        DEPLOYER_SSH_KEY: '~/keys/deploy',
        DEPLOYER_KNOWN_HOSTS: '/etc/deployer/known_hosts',
        DEPLOYER_SSH_TIMEOUT_MS: '5000',
        DEPLOYER_SSH_COMMAND_TIMEOUT_MS: '120000',
        DEPLOYER_SSH_CONFIG: '~/.ssh/config-deploy',
        SSH_AUTH_SOCK: '/run/agent.sock',
      }),
    ).toEqual({
      dockerConfigDir: '/etc/deployer/docker',
      registryAuth: {
        account: {
          registry: 'registry.example.com:5000',
          user: 'deployer',
          passwordFile: '/run/secrets/registry-password',
        },
        authFile: '/run/secrets/registry-auths.json',
        tokenHosts: ['auth.example.com', 'login.example.org:8443'],
      },
      insecureRegistries: ['registry.lan:5000', '10.0.0.9:5000'],
      slackWebhookFile: '/run/secrets/slack-webhook',
      slackTokenFile: undefined,
      slackChannel: undefined,
      slackApiUrl: undefined,
      convergeTimeoutMs: 90_000,
      ssh: {
        privateKeyPath: join(h, 'keys/deploy'),
        knownHostsPath: '/etc/deployer/known_hosts',
        connectTimeoutMs: 5_000,
        commandTimeoutMs: 120_000,
        configPath: join(h, '.ssh/config-deploy'),
        agentSocket: '/run/agent.sock',
        defaultKeyPaths: [join(h, '.ssh/id_ed25519'), join(h, '.ssh/id_rsa')],
        home: h,
      },
    });
  });

  it('reads the Slack bot token file, channel and API address', () => {
    const h = home();
    expect(
      readDeploySettings({
        HOME: h,
        DEPLOYER_SLACK_TOKEN_FILE: '/run/secrets/slack-token',
        DEPLOYER_SLACK_CHANNEL: 'C0123456789',
        DEPLOYER_SLACK_API_URL: 'http://slack-proxy.lan/api/',
      }),
    ).toMatchObject({
      slackWebhookFile: undefined,
      slackTokenFile: '/run/secrets/slack-token',
      slackChannel: 'C0123456789',
      slackApiUrl: 'http://slack-proxy.lan/api/',
    });
  });

  it('refuses a Slack token without a channel, both Slack modes at once, and a bad API address', () => {
    expect(() => readDeploySettings({ DEPLOYER_SLACK_TOKEN_FILE: '/run/secrets/t' })).toThrow(
      new ConfigError(
        'DEPLOYER_SLACK_TOKEN_FILE and DEPLOYER_SLACK_CHANNEL: set both (a file holding the bot token, and the channel it posts to) or neither',
      ),
    );
    expect(() => readDeploySettings({ DEPLOYER_SLACK_CHANNEL: 'C0123456789' })).toThrow(
      ConfigError,
    );
    expect(() =>
      readDeploySettings({
        DEPLOYER_SLACK_WEBHOOK_FILE: '/run/secrets/w',
        DEPLOYER_SLACK_TOKEN_FILE: '/run/secrets/t',
        DEPLOYER_SLACK_CHANNEL: 'C0123456789',
      }),
    ).toThrow(/set one/);
    expect(() =>
      readDeploySettings({
        DEPLOYER_SLACK_TOKEN_FILE: '/run/secrets/t',
        DEPLOYER_SLACK_CHANNEL: 'C0123456789',
        DEPLOYER_SLACK_API_URL: 'slack.com/api',
      }),
    ).toThrow('DEPLOYER_SLACK_API_URL: expected an http(s) URL, got "slack.com/api"');
  });

  it('treats empty variables as unset', () => {
    const h = home();
    const empty = {
      HOME: h,
      DOCKER_CONFIG: '',
      DEPLOYER_REGISTRY: '',
      DEPLOYER_REGISTRY_USER: '',
      DEPLOYER_REGISTRY_PASSWORD_FILE: '',
      DEPLOYER_REGISTRY_AUTH_FILE: '',
      DEPLOYER_REGISTRY_TOKEN_HOSTS: '',
      DEPLOYER_INSECURE_REGISTRIES: '',
      DEPLOYER_SLACK_WEBHOOK_FILE: '',
      DEPLOYER_SLACK_TOKEN_FILE: '',
      DEPLOYER_SLACK_CHANNEL: '',
      DEPLOYER_SLACK_API_URL: '',
      DEPLOYER_CONVERGE_TIMEOUT_MS: '',
      DEPLOYER_SSH_KEY: '',
      DEPLOYER_KNOWN_HOSTS: '',
      DEPLOYER_SSH_TIMEOUT_MS: '',
      DEPLOYER_SSH_COMMAND_TIMEOUT_MS: '',
      DEPLOYER_SSH_CONFIG: '',
      SSH_AUTH_SOCK: '',
    };
    expect(readDeploySettings(empty)).toEqual(readDeploySettings({ HOME: h }));
  });

  it('refuses SSH timeouts that are not a positive whole number, naming the variable', () => {
    const h = home();
    expect(() => readDeploySettings({ HOME: h, DEPLOYER_SSH_TIMEOUT_MS: 'soon' })).toThrow(
      new ConfigError(
        'DEPLOYER_SSH_TIMEOUT_MS: expected a positive whole number of milliseconds, got "soon"',
      ),
    );
    expect(() => readDeploySettings({ HOME: h, DEPLOYER_SSH_COMMAND_TIMEOUT_MS: '-1' })).toThrow(
      ConfigError,
    );
  });

  it('reads only the environment it is given', () => {
    const h = home();
    const before = process.env.DEPLOYER_REGISTRY_USER;
    process.env.DEPLOYER_REGISTRY_USER = 'from-process-env';
    try {
      expect(readDeploySettings({ HOME: h }).registryAuth?.account).toBeUndefined();
    } finally {
      if (before === undefined) delete process.env.DEPLOYER_REGISTRY_USER;
      else process.env.DEPLOYER_REGISTRY_USER = before;
    }
  });

  it.each(['abc', '-5', '0', '1.5'])('refuses DEPLOYER_CONVERGE_TIMEOUT_MS=%s', (value) => {
    expect(() => readDeploySettings({ DEPLOYER_CONVERGE_TIMEOUT_MS: value })).toThrow(
      `DEPLOYER_CONVERGE_TIMEOUT_MS: expected a positive whole number, got "${value}"`,
    );
  });
});
