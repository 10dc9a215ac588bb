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
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', 'worker'], {
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
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.pipe(process.stdout);
  return child;
}

/** Resolves once the child has written `text` to its stdout (its log). */
export function untilLogged(child: ChildProcess, text: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.stdout?.off('data', onData);
      reject(new Error(`the process did not log "${text}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4096);
      if (!seen.includes(text)) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve();
    };
    child.stdout?.on('data', onData);
  });
}
