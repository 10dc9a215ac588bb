import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import {
  ContextError,
  dockerConfigDir,
  resolveDockerContext,
} from '../../src/exec/docker/context.js';
import { parseSshDestination } from '../../src/exec/ssh/destination.js';
import { shellQuote } from '../../src/exec/ssh/shell-quote.js';
import { sshSettings } from '../../src/exec/ssh/settings.js';

const tmp = mkdtempSync(join(tmpdir(), 'docker-context-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const dir = join(tmp, `config-${++n}`);
  mkdirSync(dir);
  return dir;
};

const dockerCli = (configDir: string, ...args: string[]) =>
  execFileSync('docker', args, {
    env: { ...process.env, DOCKER_CONFIG: configDir, DOCKER_HOST: '', DOCKER_CONTEXT: '' },
    stdio: 'ignore',
  });

function writeMeta(configDir: string, name: string, meta: unknown): string {
  const dir = join(configDir, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'meta.json');
  writeFileSync(file, typeof meta === 'string' ? meta : JSON.stringify(meta));
  return file;
}
const withHost = (name: string, host: string) => ({
  Name: name,
  Metadata: {},
  Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
});

describe('resolveDockerContext', () => {
  it('treats default as the local engine without reading anything', () => {
    expect(resolveDockerContext('default', join(tmp, 'does-not-exist'))).toEqual({ kind: 'local' });
  });

  it('reads contexts the docker CLI created', () => {
    const dir = freshDir();
    dockerCli(dir, 'context', 'create', 't1', '--docker', 'host=ssh://root@127.0.0.1:2222');
    dockerCli(dir, 'context', 'create', 'local-sock', '--docker', 'host=unix:///run/other.sock');
    dockerCli(dir, 'context', 'create', 'plain.tcp', '--docker', 'host=tcp://10.0.0.7:2375');
    expect(resolveDockerContext('t1', dir)).toEqual({
      kind: 'ssh',
      target: { username: 'root', host: '127.0.0.1', port: 2222 },
    });
    expect(resolveDockerContext('local-sock', dir)).toEqual({
      kind: 'unix',
      socketPath: '/run/other.sock',
    });
    expect(resolveDockerContext('plain.tcp', dir)).toEqual({
      kind: 'tcp',
      host: '10.0.0.7',
      port: 2375,
    });
  });

  // The CLI checks the certificate, so borrow the system's CA bundle.
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  it('refuses a TLS context the docker CLI created', () => {
    const dir = freshDir();
    dockerCli(dir, 'context', 'create', 'secure', '--docker', `host=tcp://10.0.0.7:2376,ca=${ca}`);
    expect(() => resolveDockerContext('secure', dir)).toThrow(/"secure".*TLS.*ssh:\/\//);
  });

  it('reads hand-written meta.json files at sha256(name)', () => {
    const dir = freshDir();
    writeMeta(dir, 'prod', withHost('prod', 'ssh://deploy@swarm.example.org'));
    writeMeta(dir, 'v6', withHost('v6', 'ssh://root@[fd00::1]:2200'));
    writeMeta(dir, 'tcp-noport', withHost('tcp-noport', 'tcp://engine.internal'));
    expect(resolveDockerContext('prod', dir)).toEqual({
      kind: 'ssh',
      target: { username: 'deploy', host: 'swarm.example.org', port: 22 },
    });
    expect(resolveDockerContext('v6', dir)).toEqual({
      kind: 'ssh',
      target: { username: 'root', host: 'fd00::1', port: 2200 },
    });
    expect(resolveDockerContext('tcp-noport', dir)).toEqual({
      kind: 'tcp',
      host: 'engine.internal',
      port: 2375,
    });
  });

  it('says which context is missing, where it looked and how to create it', () => {
    const dir = freshDir();
    writeMeta(dir, 'other', withHost('other', 'ssh://root@h'));
    let err: unknown;
    try {
      resolveDockerContext('prod', dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContextError);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('"prod"');
    expect(message).toContain(join(dir, 'contexts'));
    expect(message).toContain('docker context create prod --docker host=ssh://user@host');
  });

  it('rejects names that could leave the context store', () => {
    const dir = freshDir();
    for (const name of [
      '../x',
      'a/b',
      'a\\b',
      '',
      'a;rm -rf /',
      '.hidden',
      '-x',
      'x'.repeat(10) + '\n',
    ]) {
      expect(() => resolveDockerContext(name, dir), name).toThrow(ContextError);
      expect(() => resolveDockerContext(name, dir), name).toThrow(/invalid docker context name/);
    }
  });

  it('names the file when meta.json is broken or unusable', () => {
    const dir = freshDir();
    const broken = writeMeta(dir, 'broken', '{"Name": ');
    const empty = writeMeta(dir, 'empty', { Name: 'empty', Endpoints: {} });
    writeMeta(dir, 'pipe', withHost('pipe', 'npipe:////./pipe/docker_engine'));
    writeMeta(dir, 'badssh', withHost('badssh', 'ssh://-oProxyCommand=evil'));
    expect(() => resolveDockerContext('broken', dir)).toThrow(`${broken}: not JSON`);
    expect(() => resolveDockerContext('empty', dir)).toThrow(`${empty}: docker context "empty"`);
    expect(() => resolveDockerContext('pipe', dir)).toThrow(/unsupported docker host "npipe:/);
    expect(() => resolveDockerContext('badssh', dir)).toThrow(/invalid SSH destination/);
  });

  it('finds the config directory like the docker CLI', () => {
    expect(dockerConfigDir({ DOCKER_CONFIG: '/etc/dc', HOME: '/home/x' })).toBe('/etc/dc');
    expect(dockerConfigDir({ HOME: '/home/x' })).toBe('/home/x/.docker');
  });
});

describe('parseSshDestination', () => {
  it('fills in root and port 22', () => {
    expect(parseSshDestination('host.example.org')).toEqual({
      username: 'root',
      host: 'host.example.org',
      port: 22,
    });
    expect(parseSshDestination('ssh://deploy@10.0.0.1:2222')).toEqual({
      username: 'deploy',
      host: '10.0.0.1',
      port: 2222,
    });
    expect(parseSshDestination('deploy@10.0.0.1:2222')).toEqual({
      username: 'deploy',
      host: '10.0.0.1',
      port: 2222,
    });
    expect(parseSshDestination('h:2200').port).toBe(2200);
  });

  it.each([
    'host name',
    '-oProxyCommand=x',
    'ssh://-oProxyCommand=x',
    'root@-h',
    '-u@host',
    'a@b@c',
    'host:0',
    'host:99999',
    'host:22x',
    'host/path',
    'h\nx',
    '',
    'http://host',
  ])('rejects %j', (bad) => {
    expect(() => parseSshDestination(bad)).toThrow(/invalid SSH destination/);
  });
});

describe('sshSettings', () => {
  it('has OpenSSH’s defaults, and reads the overrides', () => {
    const home = freshDir();
    expect(sshSettings({ HOME: home })).toEqual({
      knownHostsPath: join(home, '.ssh/known_hosts'),
      connectTimeoutMs: 20_000,
      commandTimeoutMs: 600_000,
      defaultKeyPaths: [join(home, '.ssh/id_ed25519'), join(home, '.ssh/id_rsa')],
      home,
    });
    const env = {
      HOME: home,
      DEPLOYER_SSH_KEY: '~/keys/deploy',
      DEPLOYER_KNOWN_HOSTS: '/etc/deployer/known_hosts',
      DEPLOYER_SSH_TIMEOUT_MS: '1500',
    };
    expect(sshSettings(env)).toMatchObject({
      privateKeyPath: join(home, 'keys/deploy'),
      knownHostsPath: '/etc/deployer/known_hosts',
      connectTimeoutMs: 1500,
    });
    expect(() => sshSettings({ ...env, DEPLOYER_SSH_TIMEOUT_MS: '10s' })).toThrow(
      /DEPLOYER_SSH_TIMEOUT_MS.*"10s"/,
    );
  });
});

describe('shellQuote', () => {
  const nasty = [
    'plain',
    '',
    ' ',
    "it's",
    "''",
    '"double"',
    '$(touch PWNED)',
    '`touch PWNED`',
    '$HOME ${HOME}',
    'a\nb\n',
    '\t',
    ';rm -rf /',
    '&& touch PWNED',
    '| cat',
    '> PWNED',
    '*',
    '~',
    '~root',
    '{a,b}',
    '!!',
    '\\',
    "\\'",
    '-n',
    '--format={{.Server.Version}}',
    'FOO=bar',
    'ünïcødé ✓',
    '\x01\x1b[31m',
    '#not a comment',
  ];

  it.each(['sh', 'bash'])('round-trips nasty arguments through %s -c', (shell) => {
    const cwd = freshDir();
    // printf repeats its format for each argument: NUL-terminated words back.
    const command = shellQuote(['printf', '%s\\0', ...nasty]);
    const out = execFileSync(shell, ['-c', command], { cwd, encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(nasty);
    expect(existsSync(join(cwd, 'PWNED'))).toBe(false);
  });

  it('keeps an assignment-looking first word a command name', () => {
    const cwd = freshDir();
    expect(() =>
      execFileSync('sh', ['-c', `${shellQuote(['FOO=bar'])} 2>/dev/null`], { cwd, stdio: 'pipe' }),
    ).toThrow();
  });

  it('leaves plain words alone and refuses NUL', () => {
    expect(shellQuote(['docker', 'service', 'update', '--image', 'reg:5000/a@sha256:ab'])).toBe(
      'docker service update --image reg:5000/a@sha256:ab',
    );
    expect(shellQuote(['echo', ''])).toBe("echo ''");
    expect(() => shellQuote(['echo', 'a\0b'])).toThrow(/NUL/);
  });
});
