import { ARCHS, type Arch } from './schema.js';
import { ConfigError } from './load.js';
import { LEVELS, type Level } from './levels.js';
import type { UntrustedBuildNetwork } from '../exec/untrusted-build.js';

/** Deployer's own settings; Probot reads its own (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, GHE_HOST, …). */
export interface DeployerEnv {
  redisUrl: string;
  /** A built-in flavour name, used when no config file is given. */
  flavourName: string;
  configFile?: string;
  pools: Arch[];
  /** Prefix of every Redis key and queue, so several deployers can share one Redis. */
  prefix: string;
  workDir: string;
  dockerHost?: string;
  /** How long a worker's hold on a job lasts without renewal: a killed worker's job is retried after it. */
  jobLockMs: number;
  /** How often deployment branch heads are compared with what was deployed. */
  catchUpMs: number;
  /** How often every branch and open pull request is listed and the heads not taken in are built. */
  scanRefsMs: number;
  /** A build taking longer fails (twice as long for builds that include riscv64). */
  buildTimeoutMs: number;
  /** Operations at or above this level wait for an admin's confirmation. */
  confirm?: Level;
  /** The configured level stops holding anything this long after a worker starts. */
  confirmAutoReleaseMs?: number;
  /** Only repositories of these GitHub accounts are served (lowercase); unset: all of the flavour's. */
  accountAllowlist?: string[];
  /** Builds a worker runs at once in each of its pools. */
  buildsPerPool: number;
  /** Untrusted builds (a fork's pull requests) running at once per repository, over all workers. */
  untrustedBuildsPerRepo: number;
  /** The network of untrusted builds' RUN steps: the engine's `default`, or `none` (loopback only). */
  untrustedBuildNetwork: UntrustedBuildNetwork;
  /** A port of its own for /metrics, /healthz and /readyz (a worker has no other); unset: none. */
  metricsPort?: number;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): DeployerEnv {
  return {
    redisUrl: parseRedisUrl(env.REDIS_URL || 'redis://127.0.0.1:6379'),
    flavourName: env.DEPLOYER_FLAVOUR || 'tarides',
    configFile: env.DEPLOYER_CONFIG || undefined,
    pools: parsePools(env.DEPLOYER_POOLS ?? 'linux-x86_64', 'DEPLOYER_POOLS'),
    prefix: env.DEPLOYER_REDIS_PREFIX ?? 'deployer',
    workDir: env.DEPLOYER_WORK_DIR ?? '/tmp/deployer',
    dockerHost: env.DOCKER_HOST || undefined,
    jobLockMs: positiveInt(env.DEPLOYER_JOB_LOCK_MS ?? '60000', 'DEPLOYER_JOB_LOCK_MS'),
    catchUpMs: positiveInt(env.DEPLOYER_CATCH_UP_MS ?? '300000', 'DEPLOYER_CATCH_UP_MS'),
    scanRefsMs: positiveInt(env.DEPLOYER_SCAN_REFS_MS ?? '3600000', 'DEPLOYER_SCAN_REFS_MS'),
    buildTimeoutMs: positiveInt(
      env.DEPLOYER_BUILD_TIMEOUT_MS ?? '3000000',
      'DEPLOYER_BUILD_TIMEOUT_MS',
    ),
    confirm: parseLevel(env.DEPLOYER_CONFIRM || undefined, 'DEPLOYER_CONFIRM'),
    confirmAutoReleaseMs: optionalPositiveInt(
      env.DEPLOYER_CONFIRM_AUTO_RELEASE_MS,
      'DEPLOYER_CONFIRM_AUTO_RELEASE_MS',
    ),
    accountAllowlist: parseAccounts(env.DEPLOYER_ACCOUNT_ALLOWLIST),
    buildsPerPool: positiveInt(env.DEPLOYER_BUILDS_PER_POOL ?? '1', 'DEPLOYER_BUILDS_PER_POOL'),
    untrustedBuildsPerRepo: positiveInt(
      env.DEPLOYER_UNTRUSTED_BUILDS_PER_REPO ?? '1',
      'DEPLOYER_UNTRUSTED_BUILDS_PER_REPO',
    ),
    untrustedBuildNetwork: parseUntrustedNetwork(env.DEPLOYER_UNTRUSTED_BUILD_NETWORK),
    metricsPort: env.DEPLOYER_METRICS_PORT
      ? parsePort(env.DEPLOYER_METRICS_PORT, 'DEPLOYER_METRICS_PORT')
      : undefined,
  };
}

function parseUntrustedNetwork(text: string | undefined): UntrustedBuildNetwork {
  const value = text || 'default';
  if (value === 'default' || value === 'none') return value;
  throw new ConfigError(
    `DEPLOYER_UNTRUSTED_BUILD_NETWORK: expected "default" or "none", got "${value}" (the engine's BuildKit supports no other network for builds)`,
  );
}

/**
 * A confirmation level (`--confirm`, DEPLOYER_CONFIRM); undefined when none is given,
 * or `none` (the original's word for nothing waiting).
 */
export function parseLevel(text: string | undefined, source: string): Level | undefined {
  if (text === undefined || text === 'none') return undefined;
  if (!(LEVELS as readonly string[]).includes(text))
    throw new ConfigError(`${source}: expected none or one of ${LEVELS.join(', ')}, got "${text}"`);
  return text as Level;
}

export function parsePools(text: string, source: string): Arch[] {
  const pools = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const pool of pools) {
    if (!(ARCHS as readonly string[]).includes(pool)) {
      throw new ConfigError(`${source}: expected one of ${ARCHS.join(', ')}, got "${pool}"`);
    }
  }
  if (pools.length === 0) throw new ConfigError(`${source}: expected at least one pool`);
  return pools as Arch[];
}

function parseRedisUrl(text: string): string {
  if (text.startsWith('/')) return text; // a unix socket, as ioredis takes it
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !['redis:', 'rediss:'].includes(url.protocol) || !url.hostname)
    throw new ConfigError(
      `REDIS_URL: expected redis://[user:password@]host[:port][/db] (rediss:// for TLS) or a socket path, got "${redactUrl(text)}"`,
    );
  return text;
}

/** A Redis URL as it may be shown: without its password. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

const optionalPositiveInt = (text: string | undefined, source: string) =>
  text ? positiveInt(text, source) : undefined;

/** A comma-separated list of GitHub accounts (users or organisations), lowercase. */
function parseAccounts(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  const accounts = text
    .split(',')
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean);
  const bad = accounts.find((a) => !/^[a-z0-9](?:[a-z0-9-]{0,38})$/.test(a));
  if (bad !== undefined || !accounts.length)
    throw new ConfigError(
      `DEPLOYER_ACCOUNT_ALLOWLIST: expected GitHub account names, comma-separated, got "${bad ?? text}"`,
    );
  return accounts;
}

export function positiveInt(text: string, source: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(`${source}: expected a positive whole number, got "${text}"`);
  return n;
}

/** A port to listen on: 0 asks the system for a free one, as Node's listen() does. */
export function parseListenPort(text: string, source: string): number {
  return text === '0' ? 0 : parsePort(text, source);
}

export function parsePort(text: string, source: string): number {
  const port = positiveInt(text, source);
  if (port > 65535) throw new ConfigError(`${source}: expected a port (1-65535), got "${text}"`);
  return port;
}

/**
 * Where public repositories are read anonymously (`git ls-remote`, local mode):
 * DEPLOYER_GIT_BASE_URL, else the GitHub Enterprise host, else GitHub's public host.
 */
export function gitBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEPLOYER_GIT_BASE_URL) return env.DEPLOYER_GIT_BASE_URL.replace(/\/+$/, '');
  if (env.GHE_HOST) return `${env.GHE_PROTOCOL ?? 'https'}://${env.GHE_HOST}`;
  return PUBLIC_GIT_BASE_URL;
}

/** GitHub's REST API: the GitHub Enterprise host's `/api/v3`, else GitHub's public API. */
export function githubApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GHE_HOST) return `${env.GHE_PROTOCOL ?? 'https'}://${env.GHE_HOST}/api/v3`;
  return PUBLIC_API_URL;
}

const PUBLIC_GIT_BASE_URL = 'https://github.com';
const PUBLIC_API_URL = 'https://api.github.com';

/** Who may see the web UI's pages and logs (DEPLOYER_UI_ACCESS). */
export const UI_ACCESS = ['public', 'signed-in', 'admins'] as const;
export type UiAccess = (typeof UI_ACCESS)[number];

/**
 * DEPLOYER_UI_ACCESS: `signed-in` by default when GitHub sign-in is configured,
 * `public` without it; anything but `public` needs sign-in.
 */
export function readUiAccess(env: NodeJS.ProcessEnv, signInConfigured: boolean): UiAccess {
  const text = env.DEPLOYER_UI_ACCESS || (signInConfigured ? 'signed-in' : 'public');
  if (!(UI_ACCESS as readonly string[]).includes(text))
    throw new ConfigError(
      `DEPLOYER_UI_ACCESS: expected one of ${UI_ACCESS.join(', ')}, got "${text}"`,
    );
  if (text !== 'public' && !signInConfigured)
    throw new ConfigError(
      `DEPLOYER_UI_ACCESS: "${text}" needs GitHub sign-in; set GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and DEPLOYER_SESSION_SECRET, or use "public"`,
    );
  return text as UiAccess;
}
