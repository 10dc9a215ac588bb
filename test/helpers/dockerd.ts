import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PIDFILE = '/var/run/docker.pid'; // dockerd's own, however it was started
const ROOT = join(import.meta.dirname, '../..');

/** The process exists and is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const dockerAnswers = async (): Promise<boolean> =>
  run('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { timeout: 10_000 }).then(
    ({ stdout }) => stdout.trim() === 'active',
    () => false,
  );

/**
 * Restarts the local dockerd as an operator would: SIGTERM (it stops its containers
 * and exits), then `scripts/services.sh start`, which starts it again as it does for
 * the tests, and checks the other services. Resolves once the engine and its swarm
 * answer. Asynchronous throughout, so the caller's servers keep answering meanwhile.
 */
export async function restartDockerd(): Promise<void> {
  const pid = Number(readFileSync(PIDFILE, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  try {
    await until(`dockerd (pid ${pid}) to exit`, 45_000, () => !running(pid));
  } catch (err) {
    process.kill(pid, 'SIGKILL'); // never leave the machine without an engine
    await until(`dockerd (pid ${pid}) to die`, 10_000, () => !running(pid));
    throw err;
  } finally {
    await run('bash', [join(ROOT, 'scripts/services.sh'), 'start'], { timeout: 120_000 });
  }
  await until('dockerd and its swarm to answer', 60_000, dockerAnswers);
}
