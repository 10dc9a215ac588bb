// Memory: the RSS of a process streaming a 1 GiB build context to the real engine
// through the code a build job runs (packContext → buildImage), sampled every 100 ms.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localDocker, type Docker } from '../src/exec/docker/client.js';
import { uniqueName } from '../test/helpers/harness.js';
import type { MemoryChildResult } from './memory-child.js';

export interface MemoryFigures {
  contextBytes: number;
  /** What went to the engine (the tar stream). */
  streamedBytes: number;
  buildMs: number;
  /** Largest of the 100 ms samples of VmRSS, and the kernel's own peak (VmHWM). */
  sampledMaxRssMiB: number;
  peakRssMiB: number;
  /** RSS of the same process just before the build started (Node, tsx and the modules loaded). */
  baselineRssMiB: number;
  samples: number;
  imageRemoved: boolean;
  buildCacheFreedMiB: number;
}

const MiB = 2 ** 20;

/** A field of /proc/<pid>/status, in MiB (VmRSS, VmHWM). */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : undefined; // kB
  } catch {
    return undefined; // exited
  }
}

type CacheRecord = { ID: string; Size: number };

/** Deletes the image and the large build-cache records this build made (and only those). */
async function cleanUp(
  docker: Docker,
  tag: string,
  cacheBefore: Set<string>,
  size: number,
): Promise<{ imageRemoved: boolean; buildCacheFreedMiB: number }> {
  let imageRemoved = false;
  try {
    await docker.getImage(tag).remove();
    imageRemoved = true;
  } catch {
    // never built
  }
  // The context and the layer stay in BuildKit's cache (about 1 GiB each).
  // dockerode's pruneBuilder drops its filters (it would prune everything): use the CLI.
  const after = ((await docker.df()) as { BuildCache?: CacheRecord[] }).BuildCache ?? [];
  let freed = 0;
  for (const record of after.filter((c) => !cacheBefore.has(c.ID) && c.Size >= size / 2)) {
    execFileSync('docker', ['builder', 'prune', '-f', '--filter', `id=${record.ID}`], {
      stdio: 'ignore',
    });
    freed += record.Size;
  }
  return { imageRemoved, buildCacheFreedMiB: freed / MiB };
}

export async function benchMemory(size = 2 ** 30, timeoutMs = 180_000): Promise<MemoryFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-context-'));
  // Sparse: no disk is used, but reading it yields `size` bytes like any file.
  writeFileSync(join(dir, 'big'), '');
  truncateSync(join(dir, 'big'), size);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY big /big\n');
  const tag = `deployer-bench/${uniqueName('memory').toLowerCase()}:latest`;
  const docker = localDocker(process.env.DOCKER_HOST || undefined);
  const cacheBefore = new Set(
    ((await docker.df()) as { BuildCache?: CacheRecord[] }).BuildCache?.map((c) => c.ID),
  );

  const child = fork(new URL('./memory-child.ts', import.meta.url).pathname, [dir, tag], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid!;
  const rss: number[] = [];
  const sampler = setInterval(() => {
    const v = procStatus(pid, 'VmRSS');
    if (v !== undefined) rss.push(v);
  }, 100);
  let cleaned = false;
  try {
    const result = await new Promise<MemoryChildResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the 1 GiB build took over ${timeoutMs / 1000} s`));
      }, timeoutMs);
      child.once('message', (m: MemoryChildResult) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the build process exited (${code})`));
      });
    });
    clearInterval(sampler);
    const peak = procStatus(pid, 'VmHWM') ?? NaN;
    child.removeAllListeners('exit');
    const exited = new Promise((r) => child.once('exit', r));
    child.send('exit');
    await exited;
    cleaned = true;
    return {
      contextBytes: size,
      streamedBytes: result.bytes,
      buildMs: result.ms,
      sampledMaxRssMiB: Math.max(...rss),
      peakRssMiB: peak,
      baselineRssMiB: result.baselineRss / MiB,
      samples: rss.length,
      ...(await cleanUp(docker, tag, cacheBefore, size)),
    };
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
    if (!cleaned) await cleanUp(docker, tag, cacheBefore, size);
  }
}
