import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerForEndpoint } from '../../src/exec/docker/client.js';
import { resolveDockerContext } from '../../src/exec/docker/context.js';
import { SshError } from '../../src/exec/ssh/errors.js';
import { sshExec } from '../../src/exec/ssh/exec.js';
import { sshSettings } from '../../src/exec/ssh/settings.js';

// OpenSSH's conventions, against the test sshd from scripts/services.sh: host aliases
// from ~/.ssh/config, and keys from a real ssh-agent this file starts.
const services = resolve(import.meta.dirname, '../../.services/ssh');
const SSH_KEY = process.env.TEST_SSH_KEY ?? join(services, 'id_ed25519');
const KNOWN_HOSTS = process.env.TEST_KNOWN_HOSTS ?? join(services, 'known_hosts');
const SSH_PORT = process.env.TEST_SSH_PORT ?? '2222';

const work = mkdtempSync(join(tmpdir(), 'deployer-ssh-conventions-'));
let n = 0;
/** A HOME of its own (nothing in ~/.ssh unless the test puts it there). */
function freshHome(): string {
  const home = join(work, `home-${++n}`);
  mkdirSync(join(home, '.ssh'), { recursive: true });
  return home;
}
function otherKey(): string {
  const file = join(work, `other-${++n}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  return file;
}
/** A docker config directory with one context, as `docker context create` writes it. */
function contextFor(host: string): string {
  const dir = join(work, `docker-${++n}`);
  execFileSync('docker', ['context', 'create', 'web', '--docker', `host=${host}`], {
    env: { ...process.env, DOCKER_CONFIG: dir },
    stdio: 'ignore',
  });
  return dir;
}
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('~/.ssh/config host aliases for ssh docker contexts', () => {
  let home: string;
  let configFile: string;
  beforeAll(() => {
    home = freshHome();
    mkdirSync(join(home, 'keys'));
    copyFileSync(SSH_KEY, join(home, 'keys/deploy'));
    configFile = join(home, '.ssh/config');
    writeFileSync(
      configFile,
      [
        '# the deployer reads the same file as ssh',
        'Host deploy-* !deploy-legacy',
        '  HostName 127.0.0.1',
        `  Port ${SSH_PORT}`,
        '  IdentityFile ~/keys/deploy',
        'Host deploy-legacy',
        '  HostName 127.0.0.1',
        `  Port ${SSH_PORT}`,
        `  IdentityFile ${otherKey()}`,
        'Host *',
        '  User root',
        '  ServerAliveInterval 30',
        '',
      ].join('\n'),
    );
  });
  const settings = () => sshSettings({ HOME: home, DEPLOYER_KNOWN_HOSTS: KNOWN_HOSTS });

  it('reaches the engine of a context named by alias: HostName, Port, User, IdentityFile', async () => {
    const endpoint = resolveDockerContext('web', contextFor('ssh://deploy-web'), settings());
    expect(endpoint).toEqual({
      kind: 'ssh',
      target: {
        username: 'root',
        host: '127.0.0.1',
        port: Number(SSH_PORT),
        identityFiles: [join(home, 'keys/deploy')],
      },
    });
    const docker = dockerForEndpoint(endpoint, settings());
    expect((await docker.version()).Version).toMatch(/^\d+\.\d+/);
    if (endpoint.kind !== 'ssh') throw new Error('not ssh');
    const { stdout } = await sshExec(endpoint.target, ['id', '-un'], { settings: settings() });
    expect(stdout.trim()).toBe('root');
  });

  it('a port in the context wins over the config’s', async () => {
    const endpoint = resolveDockerContext('web', contextFor('ssh://deploy-web:2299'), settings());
    if (endpoint.kind !== 'ssh') throw new Error('not ssh');
    expect(endpoint.target.port).toBe(2299);
    const err = await failure(sshExec(endpoint.target, ['true'], { settings: settings() }));
    expect(err.message).toBe('cannot connect to 127.0.0.1:2299: connection refused');
  });

  it('a negated pattern keeps a host out of a section; its own key is then used, and named', async () => {
    const endpoint = resolveDockerContext('web', contextFor('ssh://deploy-legacy'), settings());
    if (endpoint.kind !== 'ssh') throw new Error('not ssh');
    const err = await failure(sshExec(endpoint.target, ['true'], { settings: settings() }));
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).reason).toBe('auth');
    const key = endpoint.target.identityFiles?.[0] ?? '';
    expect(key).toMatch(/other-/);
    expect(err.message).toBe(
      `cannot log in to root@127.0.0.1:${SSH_PORT} with the key ${key}: refused (is ${key}.pub in ~root/.ssh/authorized_keys there?)`,
    );
  });

  it('DEPLOYER_SSH_CONFIG names another file; none turns the lookup off', async () => {
    const elsewhere = join(work, 'deployer-ssh-config');
    copyFileSync(configFile, elsewhere);
    rmSync(configFile);
    const explicit = sshSettings({
      HOME: home,
      DEPLOYER_KNOWN_HOSTS: KNOWN_HOSTS,
      DEPLOYER_SSH_CONFIG: elsewhere,
    });
    const endpoint = resolveDockerContext('web', contextFor('ssh://deploy-db'), explicit);
    if (endpoint.kind !== 'ssh') throw new Error('not ssh');
    await sshExec(endpoint.target, ['true'], { settings: explicit });

    copyFileSync(elsewhere, configFile);
    const off = sshSettings({ HOME: home, DEPLOYER_SSH_CONFIG: 'none' });
    expect(resolveDockerContext('web', contextFor('ssh://deploy-db'), off)).toEqual({
      kind: 'ssh',
      target: { username: 'root', host: 'deploy-db', port: 22 },
    });
  });
});

describe('ssh-agent', () => {
  const agents: ChildProcess[] = [];
  /** A real ssh-agent on a socket of its own, holding `keys`. */
  async function startAgent(keys: string[]): Promise<string> {
    const socket = join(work, `agent-${++n}.sock`);
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    agents.push(agent);
    for (let i = 0; !existsSync(socket); i++) {
      if (i > 100) throw new Error('ssh-agent did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const key of keys)
      execFileSync('ssh-add', ['-q', key], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
        stdio: 'ignore',
      });
    return socket;
  }
  afterAll(() => {
    for (const agent of agents) agent.kill();
  });
  const target = { username: 'root', host: '127.0.0.1', port: Number(SSH_PORT) };
  const withAgent = (socket: string, extra: Record<string, string> = {}) =>
    sshSettings({
      HOME: freshHome(),
      DEPLOYER_KNOWN_HOSTS: KNOWN_HOSTS,
      SSH_AUTH_SOCK: socket,
      ...extra,
    });

  it('logs in with the agent’s key when no key file is configured, for commands and the engine', async () => {
    const socket = await startAgent([SSH_KEY]);
    const settings = withAgent(socket);
    expect(settings.privateKeyPath).toBeUndefined();
    const { stdout } = await sshExec(target, ['id', '-un'], { settings });
    expect(stdout.trim()).toBe('root');
    const docker = dockerForEndpoint({ kind: 'ssh', target }, settings);
    expect((await docker.version()).Version).toMatch(/^\d+\.\d+/);
  });

  it('says so when none of the agent’s keys is accepted', async () => {
    const socket = await startAgent([otherKey()]);
    const err = await failure(sshExec(target, ['true'], { settings: withAgent(socket) }));
    expect((err as SshError).reason).toBe('auth');
    expect(err.message).toBe(
      `cannot log in to root@127.0.0.1:${SSH_PORT} with the keys of ssh-agent (SSH_AUTH_SOCK=${socket}): ` +
        "refused (is one of them in ~root/.ssh/authorized_keys there? `ssh-add -L` lists the agent's)",
    );
  });

  it('is not used when a key file is configured', async () => {
    const socket = await startAgent([SSH_KEY]);
    const key = otherKey();
    const err = await failure(
      sshExec(target, ['true'], { settings: withAgent(socket, { DEPLOYER_SSH_KEY: key }) }),
    );
    expect(err.message).toMatch(
      new RegExp(`^cannot log in to root@127.0.0.1:${SSH_PORT} with the key ${key}: refused`),
    );
  });

  it('names a socket nothing listens on', async () => {
    const socket = join(work, 'no-agent.sock');
    const err = await failure(sshExec(target, ['true'], { settings: withAgent(socket) }));
    expect((err as SshError).reason).toBe('auth');
    expect(err.message).toBe(
      `cannot use ssh-agent at ${socket} (SSH_AUTH_SOCK): Failed to connect to agent`,
    );
  });

  it('without a key, an IdentityFile or an agent, says what to set', async () => {
    const settings = sshSettings({ HOME: freshHome(), DEPLOYER_KNOWN_HOSTS: KNOWN_HOSTS });
    const err = await failure(sshExec(target, ['true'], { settings }));
    expect((err as SshError).reason).toBe('key-file');
    expect(err.message).toBe(
      `no SSH key to log in to root@127.0.0.1:${SSH_PORT} with: set DEPLOYER_SSH_KEY, give the host an ` +
        'IdentityFile in the SSH config, or run ssh-agent with the key added and SSH_AUTH_SOCK set',
    );
  });
});
