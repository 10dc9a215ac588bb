import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, type ConnectConfig, type SFTPWrapper, type ServerHostKeyAlgorithm } from 'ssh2';
import { ConfigError } from '../config/load.js';
import { CancelledError } from './errors.js';
import { checkHostKey, knownKeyTypes } from './known-hosts.js';
import { RemoteCommandError, SshError } from './ssh-errors.js';

export { RemoteCommandError, SshError } from './ssh-errors.js';

export interface SshSettings {
  privateKeyPath: string;
  knownHostsPath: string;
  /** TCP connect + handshake + login. */
  connectTimeoutMs: number;
  /**
   * Default limit for a whole call (connect included) when the caller gives none;
   * also the limit of each docker engine request over SSH (a pull included).
   */
  commandTimeoutMs: number;
}

export interface SshTarget {
  username: string;
  host: string;
  port: number;
}

/**
 * SSH settings from the environment: `DEPLOYER_SSH_KEY` (default `~/.ssh/id_ed25519`,
 * else `~/.ssh/id_rsa`), `DEPLOYER_KNOWN_HOSTS` (default `~/.ssh/known_hosts`),
 * `DEPLOYER_SSH_TIMEOUT_MS` (connect, default 20 s), `DEPLOYER_SSH_COMMAND_TIMEOUT_MS` (a command or engine request, default 10 min).
 */
export function sshSettings(env: NodeJS.ProcessEnv = process.env): SshSettings {
  const home = env.HOME || homedir();
  const tilde = (p: string) => (p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const keys = [join(home, '.ssh/id_ed25519'), join(home, '.ssh/id_rsa')];
  return {
    privateKeyPath: tilde(env.DEPLOYER_SSH_KEY || (keys.find((k) => existsSync(k)) ?? keys[0])),
    knownHostsPath: tilde(env.DEPLOYER_KNOWN_HOSTS || join(home, '.ssh/known_hosts')),
    connectTimeoutMs: millis(env, 'DEPLOYER_SSH_TIMEOUT_MS', 20_000),
    commandTimeoutMs: millis(env, 'DEPLOYER_SSH_COMMAND_TIMEOUT_MS', 600_000),
  };
}

function millis(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (!text) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(
      `${name}: expected a positive whole number of milliseconds, got "${text}"`,
    );
  return n;
}

const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
const HOST = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$/;

/** `user@host:port`, `ssh://user@host:port` or `host` → a target (user root, port 22 by default). */
export function parseSshDestination(destination: string): SshTarget {
  const bad = (why: string) => new ConfigError(`invalid SSH destination "${destination}": ${why}`);
  let rest = destination;
  if (rest.startsWith('ssh://')) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  if (/[\s\p{Cc}]/u.test(rest)) throw bad('it contains spaces or control characters');
  if (rest.startsWith('-')) throw bad('it starts with "-"');
  const m = /^(?:([^@/]*)@)?(\[[^\]]*\]|[^:@/]*)(?::([0-9]+))?$/.exec(rest);
  if (!m) throw bad('expected user@host:port');
  const [, username = 'root', host, portText] = m;
  if (!USER.test(username)) throw bad(`bad user name "${username}"`);
  if (!HOST.test(host)) throw bad(`bad host name "${host}"`);
  const port = portText === undefined ? 22 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`bad port "${portText}"`);
  return { username, host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

/** `host:port` (`[v6]:port`), as messages name a target. */
export function describeTarget(target: SshTarget): string {
  return target.host.includes(':')
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
}

const SAFE = /^[A-Za-z0-9_/.,:@%+-]+$/;

/** One POSIX shell word per argument: what `sh -c` on the other side splits back into argv. */
export function shellQuote(argv: readonly string[]): string {
  return argv
    .map((arg, i) => {
      if (arg.includes('\0')) throw new ConfigError(`argument ${i} contains a NUL byte`);
      return SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
    })
    .join(' ');
}

/**
 * An ssh2 config that also says why the last host key it saw was refused, and how
 * long one call over such a connection may take (a docker engine request).
 */
export type SshConnectConfig = ConnectConfig & {
  hostKeyProblem: () => string | undefined;
  callTimeoutMs: number;
};

// ssh2's own default order; the types known_hosts holds for a host are asked for first.
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
const algorithmsFor = (keyType: string): ServerHostKeyAlgorithm[] =>
  keyType === 'ssh-rsa'
    ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
    : HOST_KEY_ALGORITHMS.filter((a) => a === keyType);

/** The key type in an SSH wire-format public key: uint32 length, then the type name. */
function wireKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const len = key.readUInt32BE(0);
  return len > 0 && len <= 64 && 4 + len <= key.length
    ? key.subarray(4, 4 + len).toString('latin1')
    : undefined;
}

/**
 * The ssh2 `ConnectConfig` for a target (also dockerode's `sshOptions`): key auth
 * with the configured key, and a host key check against known_hosts that refuses
 * unknown and changed keys before anything is sent to the host.
 */
export function sshConnectConfig(target: SshTarget, settings: SshSettings): SshConnectConfig {
  const where = describeTarget(target);
  const path = settings.knownHostsPath;
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(settings.privateKeyPath);
  } catch (err) {
    const why = (err as Error).message;
    const message = `cannot read the SSH private key ${settings.privateKeyPath}: ${why} (set DEPLOYER_SSH_KEY)`;
    throw new SshError(message, 'key-file', where);
  }
  const knownHosts = () => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  let problem: string | undefined;
  const hostVerifier = (key: Buffer): boolean => {
    const type = wireKeyType(key);
    const check = type
      ? checkHostKey(knownHosts(), target.host, target.port, type, key)
      : 'mismatch';
    const keyscan = shellQuote([
      'ssh-keyscan',
      ...(target.port === 22 ? [] : ['-p', `${target.port}`]),
      target.host,
    ]);
    problem =
      check === 'match'
        ? undefined
        : check === 'mismatch'
          ? `host key of ${where} does not match ${path}`
          : `${where} is not in ${path}: add its key (${keyscan} >> ${shellQuote([path])})`;
    return check === 'match';
  };
  const known = knownKeyTypes(knownHosts(), target.host, target.port).flatMap(algorithmsFor);
  return {
    host: target.host,
    port: target.port,
    username: target.username,
    privateKey,
    readyTimeout: settings.connectTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    hostVerifier,
    ...(known.length > 0 && {
      algorithms: {
        serverHostKey: [...known, ...HOST_KEY_ALGORITHMS.filter((a) => !known.includes(a))],
      },
    }),
    hostKeyProblem: () => problem,
    callTimeoutMs: settings.commandTimeoutMs,
  };
}

/** An ssh2 (or dockerode-over-SSH) connection failure as an `SshError` that says what to do. */
export function sshErrorFor(
  err: unknown,
  target: SshTarget,
  settings: SshSettings,
  config?: SshConnectConfig,
): SshError {
  if (err instanceof SshError) return err;
  const where = describeTarget(target);
  const e = err as Error & { code?: string; level?: string };
  const problem = config?.hostKeyProblem();
  if (problem) return new SshError(problem, 'host-key', where);
  const cannot = `cannot connect to ${where}`;
  if (e.code === 'ECONNREFUSED')
    return new SshError(`${cannot}: connection refused`, 'refused', where);
  if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT')
    return new SshError(
      `${cannot}: timed out after ${settings.connectTimeoutMs}ms`,
      'timeout',
      where,
    );
  if (e.level === 'client-authentication') {
    const key = settings.privateKeyPath;
    const message = `cannot log in to ${target.username}@${where} with the key ${key}: refused (is ${key}.pub in ~${target.username}/.ssh/authorized_keys there?)`;
    return new SshError(message, 'auth', where);
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return new SshError(`${cannot}: unknown host name`, 'other', where);
  if (e.code === 'ECONNRESET')
    return new SshError(`${cannot}: the connection was reset`, 'closed', where);
  if (/private ?key|passphrase/i.test(e.message ?? '')) {
    const message = `cannot use the SSH private key ${settings.privateKeyPath}: ${e.message}`;
    return new SshError(message, 'key-file', where);
  }
  return new SshError(`${cannot}: ${e.message ?? String(err)}`, 'other', where);
}

const closedEarly = (where: string) =>
  new SshError(`connection to ${where} closed before the command finished`, 'closed', where);

interface Limits {
  settings: SshSettings;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Connects, runs `use`, and always closes the connection. The whole call is bounded
 * by `timeoutMs` (the login alone by `connectTimeoutMs`); `what` names it in timeouts.
 */
function withConnection<T>(
  target: SshTarget,
  limits: Limits,
  what: string,
  use: (conn: Client) => Promise<T>,
): Promise<T> {
  const { settings, signal } = limits;
  const timeoutMs = limits.timeoutMs ?? settings.commandTimeoutMs;
  const where = describeTarget(target);
  if (signal?.aborted)
    return Promise.reject(new CancelledError(String(signal.reason ?? 'cancelled')));
  let config: SshConnectConfig;
  try {
    config = sshConnectConfig(target, settings);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const conn = new Client();
  return new Promise<T>((resolve, reject) => {
    let ready = false;
    let done = false;
    const finish = (err: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(loginTimer);
      clearTimeout(callTimer);
      signal?.removeEventListener('abort', onAbort);
      if (ready) conn.end();
      else conn.destroy();
      if (err) reject(err);
      else resolve(value as T);
    };
    const onAbort = () => finish(new CancelledError(String(signal?.reason ?? 'cancelled')));
    signal?.addEventListener('abort', onAbort, { once: true });
    const loginTimer = setTimeout(
      () => finish(sshErrorFor({ level: 'client-timeout' }, target, settings)),
      settings.connectTimeoutMs,
    );
    const callTimer = setTimeout(
      () =>
        finish(
          new SshError(`${what} on ${where} timed out after ${timeoutMs}ms`, 'timeout', where),
        ),
      timeoutMs,
    );
    conn.on('error', (err) =>
      finish(ready ? closedEarly(where) : sshErrorFor(err, target, settings, config)),
    );
    conn.on('close', () =>
      finish(
        ready
          ? closedEarly(where)
          : sshErrorFor(new Error('the connection closed during login'), target, settings, config),
      ),
    );
    conn.on('ready', () => {
      ready = true;
      clearTimeout(loginTimer);
      use(conn).then(
        (value) => finish(undefined, value),
        (err: Error) => finish(err),
      );
    });
    try {
      conn.connect(config);
    } catch (err) {
      finish(sshErrorFor(err, target, settings, config));
    }
  });
}

export interface SshExecOptions {
  settings: SshSettings;
  stdin?: string | Buffer;
  /** The whole call, connection included; default `settings.commandTimeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Exit codes that are answers rather than failures; default `[0]`. */
  okExitCodes?: number[];
}

export interface SshResult {
  stdout: string;
  stderr: string;
  code: number;
}

const TAIL = 4000;

/** Runs argv on the target (POSIX-quoted for the login shell there), on a fresh connection. */
export async function sshExec(
  target: SshTarget,
  argv: readonly string[],
  opts: SshExecOptions,
): Promise<SshResult> {
  if (argv.length === 0) throw new ConfigError('sshExec: empty argv');
  const command = shellQuote(argv);
  const where = describeTarget(target);
  const okCodes = opts.okExitCodes ?? [0];
  const what = `\`${argv.slice(0, 2).join(' ')}\``;
  return withConnection(target, opts, what, (conn) => {
    return new Promise<SshResult>((resolve, reject) => {
      conn.exec(command, (err, stream) => {
        if (err)
          return reject(
            new SshError(`cannot start ${what} on ${where}: ${err.message}`, 'other', where),
          );
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let code: number | null | undefined;
        let killedBy: string | undefined;
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errs.push(d));
        stream.on('exit', (c: number | null, sig?: string) => {
          code = c;
          killedBy = sig;
        });
        stream.on('close', () => {
          if (code === undefined) return reject(closedEarly(where));
          const stdout = Buffer.concat(out).toString();
          const stderr = Buffer.concat(errs).toString();
          if (code !== null && okCodes.includes(code)) return resolve({ stdout, stderr, code });
          const tail = stderr.slice(-TAIL) || (killedBy ? `killed by SIG${killedBy}` : '');
          reject(new RemoteCommandError(where, argv, code, tail));
        });
        stream.end(opts.stdin);
      });
    });
  });
}

export interface SftpPutOptions {
  mode?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Streams a file to `remotePath` atomically: written beside it, then renamed over it. */
export async function sftpPut(
  target: SshTarget,
  settings: SshSettings,
  local: Readable,
  remotePath: string,
  opts: SftpPutOptions = {},
): Promise<void> {
  const where = describeTarget(target);
  const tmp = `${remotePath}.tmp-${randomBytes(6).toString('hex')}`;
  return withConnection(target, { ...opts, settings }, `copying to ${remotePath}`, async (conn) => {
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      conn.sftp((err, s) => (err ? reject(err) : resolve(s))),
    );
    try {
      const out = sftp.createWriteStream(tmp, { mode: opts.mode ?? 0o644 });
      const closed = once(out, 'close');
      closed.catch(() => undefined);
      await pipeline(local, out);
      await closed;
      // posix-rename@openssh.com replaces the target; plain SFTP rename refuses to.
      await new Promise<void>((resolve, reject) =>
        sftp.ext_openssh_rename(tmp, remotePath, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      await new Promise((resolve) => sftp.unlink(tmp, resolve));
      throw new SshError(
        `cannot write ${remotePath} on ${where}: ${(err as Error).message}`,
        'other',
        where,
      );
    }
  });
}
