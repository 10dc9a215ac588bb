import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlavourInput } from '../../src/config/schema.js';
import { freePort, redisUrl, testPrivateKey, uniqueName, WEBHOOK_SECRET } from './harness.js';
import { untilLogged } from './worker-process.js';

/** USER_HZ: /proc counts CPU time in hundredths of a second on Linux. */
const CLOCK_TICKS = 100;

export interface ReceiverProcess {
  url: string;
  child: ChildProcess;
  /** The process's resident set now and at its peak (VmRSS, VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  /** CPU time the process has used (user + system), in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * `deployer serve` as its own process on 127.0.0.1, with its defaults, against the test
 * Redis; `env` adds or overrides settings (another REDIS_URL, DEPLOYER_METRICS_PORT …).
 */
export async function spawnReceiver(
  flavour: Omit<FlavourInput, 'name'>,
  env: Record<string, string> = {},
): Promise<ReceiverProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-receiver-'));
  const config = join(dir, 'flavour.json');
  writeFileSync(config, JSON.stringify({ ...flavour, name: uniqueName('receiver') }));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', 'serve'], {
    cwd: join(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET,
      REDIS_URL: redisUrl(),
      DEPLOYER_CONFIG: config,
      DEPLOYER_REDIS_PREFIX: uniqueName('t'),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await untilLogged(child, 'receiver listening');
  child.stdout?.resume(); // its log is not read further
  const status = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(
      readFileSync(`/proc/${child.pid}/status`, 'utf8'),
    );
    return Number(m?.[1]) * 1024;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    memory: () => ({ rss: status('VmRSS'), peak: status('VmHWM') }),
    cpuMs() {
      // Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses; in ticks.
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
