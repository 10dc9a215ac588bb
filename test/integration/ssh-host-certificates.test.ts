import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerForEndpoint } from '../../src/exec/docker/client.js';
import { SshError } from '../../src/exec/ssh/errors.js';
import { sshExec } from '../../src/exec/ssh/exec.js';
import type { SshSettings } from '../../src/exec/ssh/settings.js';

// Host certificates need an sshd that presents one: each test starts its own (the
// same OpenSSH as the services' sshd, on a free loopback port), with a host key
// certified by a CA the test made, and logs in with the services' client key.
const services = resolve(import.meta.dirname, '../../.services/ssh');
const SSH_KEY = process.env.TEST_SSH_KEY ?? join(services, 'id_ed25519');
const SERVICES_PORT = Number(process.env.TEST_SSH_PORT ?? 2222);

const work = mkdtempSync(join(tmpdir(), 'deployer-host-certs-'));
let n = 0;
const fresh = (name: string) => join(work, `${++n}-${name}`);
const keygen = (...args: string[]) => execFileSync('ssh-keygen', ['-q', ...args]);
const publicKey = (file: string) =>
  readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
function newKey(type = 'ed25519'): string {
  const file = fresh(`${type}_key`);
  keygen('-t', type, '-N', '', '-f', file);
  return file;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const sshds: ChildProcess[] = [];
afterAll(() => {
  for (const sshd of sshds) sshd.kill();
  rmSync(work, { recursive: true, force: true });
});

/** An sshd presenting `hostKey` with a certificate made by `ca` (ssh-keygen -s) with `certArgs`. */
async function sshdWithCertificate(
  ca: string,
  certArgs: string[],
  hostKey = newKey(),
): Promise<number> {
  keygen('-s', ca, '-I', 'test-host', ...certArgs, `${hostKey}.pub`);
  const authorized = fresh('authorized_keys');
  writeFileSync(authorized, `${publicKey(SSH_KEY)}\n`);
  const port = await freePort();
  const config = fresh('sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `HostCertificate ${hostKey}-cert.pub`,
      `PidFile ${fresh('sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      '',
    ].join('\n'),
  );
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: 'ignore' });
  sshds.push(sshd);
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) return port;
    if (i > 100 || sshd.exitCode !== null) throw new Error('the test sshd did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function settingsWith(knownHosts: string): SshSettings {
  const file = fresh('known_hosts');
  writeFileSync(file, `${knownHosts}\n`);
  return {
    privateKeyPath: SSH_KEY,
    knownHostsPath: file,
    connectTimeoutMs: 10_000,
    commandTimeoutMs: 30_000,
  };
}
async function failure(promise: Promise<unknown>): Promise<SshError> {
  try {
    await promise;
  } catch (err) {
    return err as SshError;
  }
  throw new Error('expected the call to fail');
}
const target = (port: number) => ({ username: 'root', host: '127.0.0.1', port });

describe('@cert-authority lines in known_hosts', () => {
  let ca: string;
  beforeAll(() => {
    ca = newKey();
  });

  it('accept a host whose certificate a listed CA signed, for commands and the engine', async () => {
    const port = await sshdWithCertificate(ca, ['-h', '-n', '127.0.0.1', '-V', '-5m:+1h']);
    const settings = settingsWith(`@cert-authority [127.0.0.1]:* ${publicKey(ca)}`);
    const { stdout } = await sshExec(target(port), ['id', '-un'], { settings });
    expect(stdout.trim()).toBe('root');
    // The same check for dockerode's connections: this sshd has no docker CLI to
    // dial, so getting as far as running the command shows the host key passed.
    const docker = dockerForEndpoint({ kind: 'ssh', target: target(port) }, settings);
    const err = await docker.version().catch((e: Error) => e);
    expect(err).not.toBeInstanceOf(SshError);
  });

  it('accept RSA and ECDSA CAs and host keys too', async () => {
    for (const [caType, keyType] of [
      ['rsa', 'ecdsa'],
      ['ecdsa', 'rsa'],
    ]) {
      const otherCa = newKey(caType);
      const port = await sshdWithCertificate(otherCa, ['-h', '-n', '127.0.0.1'], newKey(keyType));
      const settings = settingsWith(`@cert-authority * ${publicKey(otherCa)}`);
      const { stdout } = await sshExec(target(port), ['true', caType], { settings });
      expect(stdout).toBe('');
    }
  });

  it('refuse a certificate from a CA known_hosts does not list, before logging in', async () => {
    const port = await sshdWithCertificate(newKey(), ['-h', '-n', '127.0.0.1']);
    const marker = fresh('ran');
    const settings = settingsWith(`@cert-authority * ${publicKey(ca)}`);
    const err = await failure(sshExec(target(port), ['touch', marker], { settings }));
    expect(err).toBeInstanceOf(SshError);
    expect(err.reason).toBe('host-key');
    expect(err.message).toBe(
      `host certificate of 127.0.0.1:${port} refused: its CA is not in a @cert-authority line for the host`,
    );
    expect(() => readFileSync(marker)).toThrow();
  });

  it('refuse a certificate for another name, an expired one, and a revoked CA', async () => {
    const other = await sshdWithCertificate(ca, ['-h', '-n', 'web.example.org']);
    const line = `@cert-authority * ${publicKey(ca)}`;
    expect(
      (await failure(sshExec(target(other), ['true'], { settings: settingsWith(line) }))).message,
    ).toBe(
      `host certificate of 127.0.0.1:${other} refused: it is not issued for 127.0.0.1 (it names web.example.org)`,
    );
    const expired = await sshdWithCertificate(ca, [
      '-h',
      '-n',
      '127.0.0.1',
      '-V',
      '20200101:20200102',
    ]);
    expect(
      (await failure(sshExec(target(expired), ['true'], { settings: settingsWith(line) }))).message,
    ).toBe(`host certificate of 127.0.0.1:${expired} refused: it has expired`);
    const good = await sshdWithCertificate(ca, ['-h', '-n', '127.0.0.1']);
    const revoked = settingsWith(`${line}\n@revoked * ${publicKey(ca)}`);
    expect((await failure(sshExec(target(good), ['true'], { settings: revoked }))).message).toMatch(
      /is not in .*known_hosts: add its key/,
    );
  });

  it('name the missing certificate of a host that presents none', async () => {
    const settings = settingsWith(`@cert-authority * ${publicKey(ca)}`);
    const err = await failure(sshExec(target(SERVICES_PORT), ['true'], { settings }));
    expect(err.reason).toBe('host-key');
    expect(err.message).toBe(
      `127.0.0.1:${SERVICES_PORT} presented no host certificate, and its key is not in ${settings.knownHostsPath} ` +
        `(which has a @cert-authority line for it): add its key (ssh-keyscan -p ${SERVICES_PORT} 127.0.0.1 >> ${settings.knownHostsPath})`,
    );
  });
});

describe('a plain known_hosts line still wins', () => {
  it('refuses a changed key even when a CA would vouch for the new one', async () => {
    const ca = newKey();
    const port = await sshdWithCertificate(ca, ['-h', '-n', '127.0.0.1']);
    const settings = settingsWith(
      `[127.0.0.1]:${port} ${publicKey(newKey())}\n@cert-authority * ${publicKey(ca)}`,
    );
    const err = await failure(sshExec(target(port), ['true'], { settings }));
    expect(err.message).toBe(
      `host key of 127.0.0.1:${port} does not match ${settings.knownHostsPath}`,
    );
  });
});
