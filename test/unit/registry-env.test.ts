import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { readRegistryAuthSettings, registryAccount } from '../../src/config/registry-env.js';

const account = {
  DEPLOYER_REGISTRY_USER: 'bot',
  DEPLOYER_REGISTRY_PASSWORD_FILE: '/run/secrets/hub',
};

describe('readRegistryAuthSettings', () => {
  it('names the registry the user and password file belong to', () => {
    expect(readRegistryAuthSettings({ ...account, DEPLOYER_REGISTRY: 'ghcr.io' }).account).toEqual({
      registry: 'ghcr.io',
      user: 'bot',
      passwordFile: '/run/secrets/hub',
    });
  });

  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['Registry.Example.com:5000', 'registry.example.com:5000'],
    ['https://ghcr.io', 'ghcr.io'],
    ['localhost:5000', 'localhost:5000'],
    ['[::1]:5000', '[::1]:5000'],
  ])('reads DEPLOYER_REGISTRY=%s as %s', (given, registry) => {
    expect(
      readRegistryAuthSettings({ ...account, DEPLOYER_REGISTRY: given }).account?.registry,
    ).toBe(registry);
  });

  it.each(['registry', 'a b', 'ghcr.io:port', ':5000'])('refuses DEPLOYER_REGISTRY=%s', (bad) => {
    expect(() => readRegistryAuthSettings({ ...account, DEPLOYER_REGISTRY: bad })).toThrow(
      `DEPLOYER_REGISTRY: expected a registry as host[:port] (e.g. ghcr.io, registry.example.com:5000), got "${bad}"`,
    );
  });

  it('refuses half an account, and a registry without one', () => {
    expect(() => readRegistryAuthSettings({ DEPLOYER_REGISTRY_USER: 'bot' })).toThrow(ConfigError);
    expect(() =>
      readRegistryAuthSettings({ DEPLOYER_REGISTRY_PASSWORD_FILE: '/run/secrets/hub' }),
    ).toThrow(/set both/);
    expect(() => readRegistryAuthSettings({ DEPLOYER_REGISTRY: 'ghcr.io' })).toThrow(
      /DEPLOYER_REGISTRY=ghcr\.io: names the registry of DEPLOYER_REGISTRY_USER/,
    );
  });

  it('reads token hosts as host or host:port and refuses anything else', () => {
    expect(
      readRegistryAuthSettings({
        DEPLOYER_REGISTRY_TOKEN_HOSTS: 'Auth.Example.com,, 10.0.0.9:8443 ',
      }).tokenHosts,
    ).toEqual(['auth.example.com', '10.0.0.9:8443']);
    for (const bad of ['https://auth.example.com', 'auth.example.com/token', 'u@auth.example.com'])
      expect(() => readRegistryAuthSettings({ DEPLOYER_REGISTRY_TOKEN_HOSTS: bad })).toThrow(
        /DEPLOYER_REGISTRY_TOKEN_HOSTS: expected host or host:port/,
      );
  });
});

describe('registryAccount', () => {
  it('without DEPLOYER_REGISTRY, the older form: the account is the staging registry’s', () => {
    const settings = readRegistryAuthSettings(account);
    expect(registryAccount(settings, '127.0.0.1:5000')).toEqual({
      account: { registry: '127.0.0.1:5000', user: 'bot', passwordFile: '/run/secrets/hub' },
      assumed: true,
    });
  });

  it('with DEPLOYER_REGISTRY, that registry, whatever the staging one', () => {
    const settings = readRegistryAuthSettings({ ...account, DEPLOYER_REGISTRY: 'docker.io' });
    expect(registryAccount(settings, '127.0.0.1:5000')).toMatchObject({
      account: { registry: 'docker.io' },
      assumed: false,
    });
    expect(registryAccount(readRegistryAuthSettings({}), '127.0.0.1:5000')).toEqual({
      assumed: false,
    });
  });
});
