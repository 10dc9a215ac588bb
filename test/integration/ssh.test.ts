import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, CommandError } from '../../src/exec/errors.js';
import { RemoteCommandError, SshError } from '../../src/exec/ssh/errors.js';
import { sftpPut } from '../../src/exec/ssh/sftp.js';
import { sshConnectConfig } from '../../src/exec/ssh/connect-config.js';
import { sshExec } from '../../src/exec/ssh/exec.js';
import type { SshSettings } from '../../src/exec/ssh/settings.js';
import type { SshTarget } from '../../src/exec/ssh/destination.js';

// The sshd from scripts/services.sh (key auth as root, docker CLI there).
const services = resolve(import.meta.dirname, '../../.services/ssh');
const host = process.env.TEST_SSH_HOST ?? '127.0.0.1';
const port = Number(process.env.TEST_SSH_PORT ?? 2222);
const target: SshTarget = { username: process.env.TEST_SSH_USER ?? 'root', host, port };
const settings: SshSettings = {
  privateKeyPath: process.env.TEST_SSH_KEY ?? join(services, 'id_ed25519'),
  knownHostsPath: process.env.TEST_KNOWN_HOSTS ?? join(services, 'known_hosts'),
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
};

const tmp = mkdtempSync(join(tmpdir(), 'ssh-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(tmp, `${++n}-${name}`);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

/** The host's public key line as known_hosts has it, re-labelled for another port. */
function hostKeyFor(otherPort: number): string {
  const line = readFileSync(settings.knownHostsPath, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`[${host}]:${port} `));
  if (!line) throw new Error(`no [${host}]:${port} line in ${settings.knownHostsPath}`);
  return line.replace(`[${host}]:${port}`, `[${host}]:${otherPort}`);
}

/** A TCP relay in front of sshd that can count and cut its connections. */
class Relay {
  readonly sockets = new Set<Socket>();
  private server?: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = createConnection({ host, port });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server?.close(r));
  }
}

async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sshExec against the test sshd', () => {
  it('runs docker on the remote host', async () => {
    const { stdout, code } = await sshExec(
      target,
      ['docker', 'version', '--format', '{{.Server.Version}}'],
      { settings },
    );
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('passes stdin, large and binary, through', async () => {
    expect((await sshExec(target, ['cat'], { settings, stdin: 'hello\nworld\n' })).stdout).toBe(
      'hello\nworld\n',
    );
    const data = randomBytes(3 * 1024 * 1024);
    const { stdout } = await sshExec(target, ['sha256sum'], { settings, stdin: data });
    expect(stdout.split(' ')[0]).toBe(sha256(data));
  });

  it('gives the remote command exactly the argv it was given', async () => {
    const marker = fresh('PWNED');
    const nasty = ["it's", '"q"', `$(touch ${marker})`, `;touch ${marker}`, 'a\nb', '', '*', '~'];
    const { stdout } = await sshExec(target, ['printf', '%s\\0', ...nasty], { settings });
    expect(stdout.split('\0').slice(0, -1)).toEqual(nasty);
    expect(existsSync(marker)).toBe(false);
  });

  it('turns a non-zero exit into RemoteCommandError with the code and the end of stderr', async () => {
    const argv = ['sh', '-c', 'seq 1 5000 >&2; echo "disk full" >&2; exit 3'];
    const err = await failure(sshExec(target, argv, { settings }));
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toBeInstanceOf(CommandError);
    const remote = err as RemoteCommandError;
    expect(remote.exitCode).toBe(3);
    expect(remote.argv).toEqual(argv);
    expect(remote.stderrTail).toMatch(/5000\ndisk full\n$/);
    expect(remote.stderrTail.length).toBeLessThanOrEqual(4000);
    expect(remote.message).toContain(`on ${host}:${port}:`);
    expect(remote.message).toContain('disk full');
    // Unless the caller says that code is an answer.
    const ok = await sshExec(target, ['sh', '-c', 'exit 3'], { settings, okExitCodes: [0, 3] });
    expect(ok.code).toBe(3);
  });

  it('times out a command that runs too long', async () => {
    const started = Date.now();
    const err = await failure(sshExec(target, ['sleep', '30'], { settings, timeoutMs: 1500 }));
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toBe(`\`sleep 30\` on ${host}:${port} timed out after 1500ms`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops when the job is cancelled', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort('superseded by 1a2b3c4'), 500);
    const err = await failure(
      sshExec(target, ['sleep', '30'], { settings, signal: controller.signal }),
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(err.message).toBe('superseded by 1a2b3c4');
  });
});

describe('connections', () => {
  let relay: Relay;
  let relayed: SshSettings;
  beforeAll(async () => {
    relay = await new Relay().start();
    const knownHosts = fresh('known_hosts');
    writeFileSync(knownHosts, `${hostKeyFor(relay.port)}\n`);
    relayed = { ...settings, knownHostsPath: knownHosts };
  });
  afterAll(() => relay.stop());
  const viaRelay = (): SshTarget => ({ ...target, host: '127.0.0.1', port: relay.port });

  it('are closed after every call, including failed ones', async () => {
    await sshExec(viaRelay(), ['true'], { settings: relayed });
    await eventually(() => relay.sockets.size === 0);
    await failure(sshExec(viaRelay(), ['false'], { settings: relayed }));
    await eventually(() => relay.sockets.size === 0);
    await failure(sshExec(viaRelay(), ['sleep', '30'], { settings: relayed, timeoutMs: 1000 }));
    await eventually(() => relay.sockets.size === 0);
  });

  it('report a connection cut in the middle of a command', async () => {
    const running = sshExec(viaRelay(), ['sleep', '30'], { settings: relayed });
    await eventually(() => relay.sockets.size > 0);
    await new Promise((r) => setTimeout(r, 1000));
    relay.cut();
    const err = await failure(running);
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toBe(
      `connection to 127.0.0.1:${relay.port} closed before the command finished`,
    );
    expect((err as SshError).reason).toBe('closed');
  });
});

describe('host keys', () => {
  const otherKey = () => {
    const file = fresh('other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    return file;
  };

  it('refuses an unknown host before logging in, and says how to add it', async () => {
    const knownHosts = fresh('known_hosts');
    writeFileSync(knownHosts, '');
    const marker = fresh('ran');
    // A client key the server would refuse: the host key check must come first.
    for (const privateKeyPath of [settings.privateKeyPath, otherKey()]) {
      const err = await failure(
        sshExec(target, ['touch', marker], {
          settings: { ...settings, knownHostsPath: knownHosts, privateKeyPath },
        }),
      );
      expect(err).toBeInstanceOf(SshError);
      expect((err as SshError).reason).toBe('host-key');
      expect(err.message).toBe(
        `${host}:${port} is not in ${knownHosts}: add its key (ssh-keyscan -p ${port} ${host} >> ${knownHosts})`,
      );
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a changed host key', async () => {
    const knownHosts = fresh('known_hosts');
    const wrong = readFileSync(`${otherKey()}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[${host}]:${port} ${wrong}\n`);
    const marker = fresh('ran');
    const err = await failure(
      sshExec(target, ['touch', marker], { settings: { ...settings, knownHostsPath: knownHosts } }),
    );
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toBe(`host key of ${host}:${port} does not match ${knownHosts}`);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a revoked host key', async () => {
    const knownHosts = fresh('known_hosts');
    const good = readFileSync(settings.knownHostsPath, 'utf8').trim();
    const key = good.split(/\s+/).slice(1, 3).join(' ');
    writeFileSync(knownHosts, `${good}\n@revoked * ${key}\n`);
    const err = await failure(
      sshExec(target, ['true'], { settings: { ...settings, knownHostsPath: knownHosts } }),
    );
    expect(err.message).toBe(`host key of ${host}:${port} does not match ${knownHosts}`);
  });

  it('asks the server first for the key types known_hosts holds for it', () => {
    const knownHosts = fresh('known_hosts');
    const rsa = fresh('rsa_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa]);
    const key = readFileSync(`${rsa}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `old.example.org ${key}\n`);
    const config = sshConnectConfig(
      { username: 'root', host: 'old.example.org', port: 22 },
      { ...settings, knownHostsPath: knownHosts },
    );
    const order = config.algorithms?.serverHostKey as string[];
    expect(order.slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(order).toContain('ssh-ed25519');
    expect(config.hostKeyProblem()).toBeUndefined();
  });

  it('accepts the key once known, and then fails login with an unauthorized client key', async () => {
    const err = await failure(
      sshExec(target, ['true'], { settings: { ...settings, privateKeyPath: otherKey() } }),
    );
    expect((err as SshError).reason).toBe('auth');
    expect(err.message).toMatch(new RegExp(`^cannot log in to root@${host}:${port} with the key `));
  });
});

describe('connection failures', () => {
  it('reports a closed port as refused, fast', async () => {
    const started = Date.now();
    const err = await failure(sshExec({ ...target, port: 2299 }, ['true'], { settings }));
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toBe('cannot connect to 127.0.0.1:2299: connection refused');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('times out a server that accepts and never speaks', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      s.resume(); // read (and ignore) what the client says, so its hang-up is seen
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const silent = (server.address() as { port: number }).port;
    try {
      const started = Date.now();
      const err = await failure(
        sshExec({ ...target, port: silent }, ['true'], {
          settings: { ...settings, connectTimeoutMs: 700 },
        }),
      );
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(SshError);
      expect(err.message).toBe(`cannot connect to 127.0.0.1:${silent}: timed out after 700ms`);
      expect(took).toBeGreaterThanOrEqual(650);
      expect(took).toBeLessThan(2000);
      await eventually(() => sockets.size === 0);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it('rejects (never throws) on an argument no shell can take', async () => {
    const err = await failure(sshExec(target, ['echo', 'a\0b'], { settings }));
    expect(err.message).toMatch(/NUL/);
  });

  it('names a missing or unusable private key file', async () => {
    const err = await failure(
      sshExec(target, ['true'], { settings: { ...settings, privateKeyPath: fresh('nope') } }),
    );
    expect(err.message).toMatch(/^cannot read the SSH private key .*nope.*DEPLOYER_SSH_KEY/);
    const garbage = fresh('garbage_key');
    writeFileSync(garbage, 'not a key\n');
    const bad = await failure(
      sshExec(target, ['true'], { settings: { ...settings, privateKeyPath: garbage } }),
    );
    expect(bad.message).toMatch(new RegExp(`^cannot use the SSH private key ${garbage}: `));
  });
});

describe('sftpPut', () => {
  let dir: string;
  beforeAll(async () => {
    dir = (await sshExec(target, ['mktemp', '-d'], { settings })).stdout.trim();
  });
  afterAll(async () => {
    if (dir) await sshExec(target, ['rm', '-rf', dir], { settings });
  });
  const remoteSha = async (path: string) =>
    (await sshExec(target, ['sha256sum', path], { settings })).stdout.split(' ')[0];
  const list = async () =>
    (await sshExec(target, ['ls', '-A', dir], { settings })).stdout.split('\n').filter(Boolean);

  it('writes the file, and replaces it only once the new one is complete', async () => {
    const path = `${dir}/app.hvt`;
    const first = randomBytes(2 * 1024 * 1024);
    await sftpPut(target, settings, Readable.from([first]), path);
    expect(await remoteSha(path)).toBe(sha256(first));
    expect(await list()).toEqual(['app.hvt']);

    // Half of the second version, then a pause: the old file must still be whole.
    const second = randomBytes(3 * 1024 * 1024);
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    let halfSent!: () => void;
    const half = new Promise<void>((r) => (halfSent = r));
    const source = Readable.from(
      (async function* () {
        yield second.subarray(0, second.length / 2);
        halfSent();
        await paused;
        yield second.subarray(second.length / 2);
      })(),
    );
    const upload = sftpPut(target, settings, source, path, { mode: 0o755 });
    await half;
    await new Promise((r) => setTimeout(r, 300));
    expect(await remoteSha(path)).toBe(sha256(first));
    expect((await list()).some((f) => f.startsWith('app.hvt.tmp-'))).toBe(true);
    release();
    await upload;
    expect(await remoteSha(path)).toBe(sha256(second));
    expect(await list()).toEqual(['app.hvt']);
    const mode = await sshExec(target, ['stat', '-c', '%a', path], { settings });
    expect(mode.stdout.trim()).toBe('755');
  });

  it('fails with the path when the directory does not exist', async () => {
    const path = `${dir}/missing/app.hvt`;
    const err = await failure(sftpPut(target, settings, Readable.from([Buffer.from('x')]), path));
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toContain(`cannot write ${path} on ${host}:${port}`);
  });
});
