import { mkdir, rm } from 'node:fs/promises';
import { run } from './run.js';

export interface FetchRequest {
  cloneUrl: string;
  sha: string;
  /** Fetched instead when the server will not hand out a commit by its sha. */
  ref: string;
  dir: string;
  /** An installation token; sent as an HTTP header through the environment, never in argv. */
  token?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export const gitArgv = {
  init: (dir: string) => ['git', 'init', '-q', dir],
  fetch: (dir: string, url: string, what: string) => [
    'git',
    '-C',
    dir,
    'fetch',
    '-q',
    '--depth=1',
    '--no-tags',
    url,
    what,
  ],
  checkout: (dir: string, sha: string) => ['git', '-C', dir, 'checkout', '-q', '--detach', sha],
  lsRemote: (url: string, ref: string) => ['git', 'ls-remote', url, ref],
};

function authEnv(token?: string): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' };
  if (!token) return env;
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    ...env,
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

/** A fresh checkout of exactly `sha` in `dir` (shallow; `.git` is there for builds that want it). */
export async function fetchCommit(req: FetchRequest): Promise<void> {
  const opts = { env: authEnv(req.token), signal: req.signal, timeoutMs: req.timeoutMs ?? 600_000 };
  await rm(req.dir, { recursive: true, force: true });
  await mkdir(req.dir, { recursive: true });
  await run(gitArgv.init(req.dir), opts);
  try {
    await run(gitArgv.fetch(req.dir, req.cloneUrl, req.sha), opts);
  } catch {
    await run(gitArgv.fetch(req.dir, req.cloneUrl, req.ref), opts);
  }
  await run(gitArgv.checkout(req.dir, req.sha), opts);
}

/** The commit `ref` (e.g. `refs/heads/master`) points to at `url` (anonymously without a token); undefined when there is no such ref. */
export async function lsRemote(
  url: string,
  ref: string,
  opts: { signal?: AbortSignal; timeoutMs?: number; token?: string } = {},
): Promise<string | undefined> {
  const out = await run(gitArgv.lsRemote(url, ref), {
    env: authEnv(opts.token),
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  // Patterns match ref suffixes too (refs/heads/x/master): keep the exact one.
  const line = out.split('\n').find((l) => l.split('\t')[1] === ref);
  return line?.split('\t')[0];
}
