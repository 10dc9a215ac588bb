import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Harness } from './harness.js';

/**
 * `deployer worker` as its own process, joining the harness's Redis, flavour and
 * GitHub; `env` adds settings (DOCKER_CONFIG, DEPLOYER_SSH_KEY, … for deploys).
 */
export function spawnWorker(h: Harness, env: Record<string, string> = {}): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-worker-'));
  const configFile = join(dir, 'flavour.json');
  writeFileSync(configFile, JSON.stringify(h.flavour));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: join(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      ...h.probotEnv,
      REDIS_URL: h.env.redisUrl,
      DEPLOYER_REDIS_PREFIX: h.env.prefix,
      DEPLOYER_CONFIG: configFile,
      DEPLOYER_POOLS: h.env.pools.join(','),
      DEPLOYER_WORK_DIR: join(dir, 'builds'),
      DEPLOYER_JOB_LOCK_MS: String(h.env.jobLockMs),
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}
