import { describe, expect, it } from 'vitest';
import { childEnv, credentialHelperEnv } from '../../src/exec/child-env.js';

describe('childEnv', () => {
  it('passes what git and the docker CLI need, and nothing else', () => {
    const env = childEnv({
      PATH: '/usr/bin',
      HOME: '/home/deployer',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      SSH_AUTH_SOCK: '/run/agent',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
      DOCKER_CONFIG: '/etc/deployer/docker',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----',
      WEBHOOK_SECRET: 'w',
      GITHUB_CLIENT_SECRET: 'c',
      DEPLOYER_SESSION_SECRET: 's',
      DEPLOYER_REGISTRY_PASSWORD_FILE: '/run/secrets/hub',
      DOCKER_PASSWORD: 'p',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.sshCommand',
      NODE_OPTIONS: '--require evil.js',
      REDIS_URL: 'redis://:password@redis',
      UNSET: undefined,
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/deployer',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      SSH_AUTH_SOCK: '/run/agent',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
      DOCKER_CONFIG: '/etc/deployer/docker',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
    });
  });
});

describe('credentialHelperEnv', () => {
  it('adds the cloud helpers’ settings, and no secret of the deployer', () => {
    const env = credentialHelperEnv({
      PATH: '/usr/bin',
      AWS_PROFILE: 'ecr',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
      AZURE_CLIENT_ID: 'azure',
      CLOUDSDK_CONFIG: '/etc/gcloud',
      GOOGLE_APPLICATION_CREDENTIALS: '/run/secrets/gcp.json',
      PASSWORD_STORE_DIR: '/var/lib/pass',
      GNUPGHOME: '/var/lib/gnupg',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/bus',
      PRIVATE_KEY: 'k',
      WEBHOOK_SECRET: 'w',
      DOCKER_PASSWORD: 'p',
      MY_AWS_THING: 'x',
    });
    expect(env).toEqual({
      AWS_PROFILE: 'ecr',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
      AZURE_CLIENT_ID: 'azure',
      CLOUDSDK_CONFIG: '/etc/gcloud',
      GOOGLE_APPLICATION_CREDENTIALS: '/run/secrets/gcp.json',
      PASSWORD_STORE_DIR: '/var/lib/pass',
      GNUPGHOME: '/var/lib/gnupg',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/bus',
    });
  });
});
