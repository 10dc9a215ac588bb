import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { readEnv } from '../../src/config/env.js';
import { parseFlavour } from '../../src/config/load.js';
import { createRuntime, type Runtime } from '../../src/wiring/runtime.js';
import type { BuildJobData } from '../../src/plan/build-jobs.js';
import { readLoginSettings } from '../../src/web/github-login.js';
import type { StreamOptions } from '../../src/web/log-stream.js';
import { createWebApp } from '../../src/web/routes.js';
import { testRepo } from './flavour.js';
import { GitHubStandIn } from './github-stand-in.js';
import { freePort, redisUrl, uniqueName } from './harness.js';

/**
 * The web UI alone (no receiver, no workers) over a fresh Redis namespace, with
 * GitHub sign-in through the stand-in: jobs are added to its queues directly.
 */
export interface WebStand {
  url: string;
  github: GitHubStandIn;
  runtime: Runtime;
  /** Adds a waiting build job of `repo` (one of the flavour's) and returns its id. */
  addBuild(repo: string, jobId?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startWebStand(opts: {
  repos: string[];
  admins?: string[];
  env?: Record<string, string>;
  stream?: StreamOptions;
}): Promise<WebStand> {
  const github = await new GitHubStandIn().start();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const flavour = parseFlavour(
    {
      name: uniqueName('web'),
      baseUrl: url,
      admins: opts.admins ?? ['github:alice'],
      repos: opts.repos.map((r) => testRepo(r)),
    },
    'web stand',
  );
  const runtime = createRuntime(
    { ...readEnv({ REDIS_URL: redisUrl() }), prefix: uniqueName('t') },
    flavour,
  );
  const login = readLoginSettings({ ...github.env(), ...github.oauthEnv(), ...opts.env });
  const app = createWebApp({
    ...runtime,
    login,
    log: pino({ level: 'silent' }),
    stream: { ...opts.stream, stopped: () => !server.listening },
  });
  const server: Server = createServer(app);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const specKey = (repo: string) => runtime.index.get(repo.toLowerCase())!.specs[0].key;
  return {
    url,
    github,
    runtime,
    async addBuild(repo, jobId = uniqueName('build')) {
      const data: BuildJobData = {
        repo,
        cloneUrl: `http://git.invalid/${repo}.git`,
        sha: 'a'.repeat(40),
        ref: 'refs/heads/main',
        specKey: specKey(repo),
        pool: 'linux-x86_64',
        fork: false,
        installationId: 1,
      };
      await runtime.queues.build('linux-x86_64').add('build', data, { jobId });
      return jobId;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await runtime.close();
      await github.stop();
    },
  };
}
