import { ARCHS, type Arch } from './schema.js';
import { ConfigError } from './load.js';
import { LEVELS, type Level } from './levels.js';

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
  /** A build taking longer fails (twice as long for riscv64). */
  buildTimeoutMs: number;
  /** Operations at or above this level wait for an admin's confirmation. */
  confirm?: Level;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): DeployerEnv {
  return {
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    flavourName: env.DEPLOYER_FLAVOUR || 'tarides',
    configFile: env.DEPLOYER_CONFIG || undefined,
    pools: parsePools(env.DEPLOYER_POOLS ?? 'linux-x86_64', 'DEPLOYER_POOLS'),
    prefix: env.DEPLOYER_REDIS_PREFIX ?? 'deployer',
    workDir: env.DEPLOYER_WORK_DIR ?? '/tmp/deployer',
    dockerHost: env.DOCKER_HOST || undefined,
    jobLockMs: positiveInt(env.DEPLOYER_JOB_LOCK_MS ?? '60000', 'DEPLOYER_JOB_LOCK_MS'),
    catchUpMs: positiveInt(env.DEPLOYER_CATCH_UP_MS ?? '300000', 'DEPLOYER_CATCH_UP_MS'),
    buildTimeoutMs: positiveInt(
      env.DEPLOYER_BUILD_TIMEOUT_MS ?? '3600000',
      'DEPLOYER_BUILD_TIMEOUT_MS',
    ),
    confirm: parseLevel(env.DEPLOYER_CONFIRM || undefined, 'DEPLOYER_CONFIRM'),
  };
}

/** A confirmation level (`--confirm`, DEPLOYER_CONFIRM); undefined when none is given. */
export function parseLevel(text: string | undefined, source: string): Level | undefined {
  if (text === undefined) return undefined;
  if (!(LEVELS as readonly string[]).includes(text))
    throw new ConfigError(`${source}: expected one of ${LEVELS.join(', ')}, got "${text}"`);
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

export function positiveInt(text: string, source: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(`${source}: expected a positive whole number, got "${text}"`);
  return n;
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
