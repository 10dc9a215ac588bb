#!/usr/bin/env node
import { Command } from 'commander';
import type { Server } from 'node:http';
import { createProbot, type Probot } from 'probot';
import { parsePools, readEnv } from './config/env.js';
import { resolveFlavour } from './config/flavour.js';
import { ConfigError, loadFlavourFile } from './config/load.js';
import type { Arch } from './config/schema.js';
import { localDocker } from './exec/docker.js';
import { startWorkers, type RunningWorkers } from './jobs/worker.js';
import { startReceiver } from './receiver.js';
import { createRuntime } from './runtime.js';

interface Roles {
  receiver: boolean;
  worker: boolean;
  pools?: Arch[];
}

async function installationToken(probot: Probot, installationId: number): Promise<string> {
  const octokit = await probot.auth(installationId);
  const auth = (await octokit.auth({ type: 'installation' })) as { token: string };
  return auth.token;
}

async function run(roles: Roles): Promise<void> {
  const env = readEnv();
  const flavour = resolveFlavour(env);
  const probot = createProbot({ env: process.env });
  const log = probot.log;
  const rt = createRuntime(env, flavour);
  rt.redis.on('error', (err) => log.error({ err: err.message }, 'redis connection error'));

  let server: Server | undefined;
  let workers: RunningWorkers | undefined;
  if (roles.worker) {
    workers = startWorkers({
      connection: rt.redis,
      prefix: rt.queues.prefix,
      pools: roles.pools ?? env.pools,
      log,
      build: {
        index: rt.index,
        store: rt.store,
        queues: rt.queues,
        docker: localDocker(env.dockerHost),
        workDir: env.workDir,
        repoToken: (id) => installationToken(probot, id),
      },
      checks: { store: rt.store, baseUrl: flavour.baseUrl, github: (id) => probot.auth(id) },
    });
    log.info({ flavour: flavour.name, pools: roles.pools ?? env.pools }, 'worker started');
  }
  if (roles.receiver) {
    const port = Number(process.env.PORT ?? 3000);
    const host = process.env.HOST ?? 'localhost';
    server = await startReceiver({ probot, deps: rt, port, host });
    log.info({ flavour: flavour.name, url: `http://${host}:${port}` }, 'receiver listening');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1); // a second signal: stop waiting
    stopping = true;
    log.info({ signal }, 'shutting down; send the signal again to exit at once');
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await workers?.close();
    await rt.close();
    process.exit(0);
  };
  process.on('SIGINT', (s) => void stop(s));
  process.on('SIGTERM', (s) => void stop(s));
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
}

const program = new Command('deployer').description(
  'Continuous deployment of Docker services from GitHub',
);
program
  .command('start')
  .description('receiver and worker in one process')
  .action(() => run({ receiver: true, worker: true }).catch(fail));
program
  .command('serve')
  .description('receive webhooks and enqueue jobs (no builds)')
  .action(() => run({ receiver: true, worker: false }).catch(fail));
program
  .command('worker')
  .description('build and deploy jobs from the queues')
  .option('--pools <list>', 'build pools to serve, comma-separated (default $DEPLOYER_POOLS)')
  .action((opts: { pools?: string }) =>
    run({
      receiver: false,
      worker: true,
      pools: opts.pools ? parsePools(opts.pools, '--pools') : undefined,
    }).catch(fail),
  );
program
  .command('check-config [file]')
  .description('validate a flavour file (or the configured flavour) and summarise it')
  .action((file?: string) => {
    try {
      const flavour = file ? loadFlavourFile(file) : resolveFlavour(readEnv());
      const builds = flavour.repos.reduce((n, r) => n + r.builds.length, 0);
      console.log(`${flavour.name}: ${flavour.repos.length} repositories, ${builds} builds: OK`);
    } catch (err) {
      fail(err);
    }
  });

await program.parseAsync();
