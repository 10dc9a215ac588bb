import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { readDeploySettings } from '../../src/deploy-deps.js';

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
      registryUser: undefined,
      registryPasswordFile: undefined,
      insecureRegistries: [],
      slackWebhookFile: undefined,
      convergeTimeoutMs: 300_000,
      ssh: {
        privateKeyPath: join(h, '.ssh/id_ed25519'),
        knownHostsPath: join(h, '.ssh/known_hosts'),
        connectTimeoutMs: 20_000,
        commandTimeoutMs: 600_000,
      },
    });
  });

  it('falls back to ~/.ssh/id_rsa when that is the only key there', () => {
    const h = home(['id_rsa']);
    expect(readDeploySettings({ HOME: h }).ssh.privateKeyPath).toBe(join(h, '.ssh/id_rsa'));
    const both = home(['id_rsa', 'id_ed25519']);
    expect(readDeploySettings({ HOME: both }).ssh.privateKeyPath).toBe(
      join(both, '.ssh/id_ed25519'),
    );
  });

  it('reads every variable', () => {
    const h = home();
    expect(
      readDeploySettings({
        HOME: h,
        DOCKER_CONFIG: '/etc/deployer/docker',
        DEPLOYER_REGISTRY_USER: 'deployer',
        DEPLOYER_REGISTRY_PASSWORD_FILE: '/run/secrets/registry-password',
        DEPLOYER_INSECURE_REGISTRIES: ' registry.lan:5000 , 10.0.0.9:5000,,',
        DEPLOYER_SLACK_WEBHOOK_FILE: '/run/secrets/slack-webhook',
        DEPLOYER_CONVERGE_TIMEOUT_MS: '90000',
        DEPLOYER_SSH_KEY: '~/keys/deploy',
        DEPLOYER_KNOWN_HOSTS: '/etc/deployer/known_hosts',
        DEPLOYER_SSH_TIMEOUT_MS: '5000',
        DEPLOYER_SSH_COMMAND_TIMEOUT_MS: '120000',
      }),
    ).toEqual({
      dockerConfigDir: '/etc/deployer/docker',
      registryUser: 'deployer',
      registryPasswordFile: '/run/secrets/registry-password',
      insecureRegistries: ['registry.lan:5000', '10.0.0.9:5000'],
      slackWebhookFile: '/run/secrets/slack-webhook',
      convergeTimeoutMs: 90_000,
      ssh: {
        privateKeyPath: join(h, 'keys/deploy'),
        knownHostsPath: '/etc/deployer/known_hosts',
        connectTimeoutMs: 5_000,
        commandTimeoutMs: 120_000,
      },
    });
  });

  it('treats empty variables as unset', () => {
    const h = home();
    const empty = {
      HOME: h,
      DOCKER_CONFIG: '',
      DEPLOYER_REGISTRY_USER: '',
      DEPLOYER_REGISTRY_PASSWORD_FILE: '',
      DEPLOYER_INSECURE_REGISTRIES: '',
      DEPLOYER_SLACK_WEBHOOK_FILE: '',
      DEPLOYER_CONVERGE_TIMEOUT_MS: '',
      DEPLOYER_SSH_KEY: '',
      DEPLOYER_KNOWN_HOSTS: '',
      DEPLOYER_SSH_TIMEOUT_MS: '',
      DEPLOYER_SSH_COMMAND_TIMEOUT_MS: '',
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
      expect(readDeploySettings({ HOME: h }).registryUser).toBeUndefined();
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
