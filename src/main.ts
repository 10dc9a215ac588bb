#!/usr/bin/env node
import { Command } from 'commander';
import { parseLevel, parsePools, positiveInt, readEnv } from './config/env.js';
import { resolveFlavour } from './config/flavour.js';
import { ConfigError, loadFlavourFile } from './config/load.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readDeploySettings } from './deploy-deps.js';
import { builtInFlavours } from './deployers/index.js';
import { renderServicesDoc } from './docs/services-doc.js';
import { LEVELS, OPERATION_LEVELS, type Gates, type Operation } from './jobs/gates.js';
import { startLocal } from './local.js';
import { createRuntime } from './runtime.js';
import { startDeployer } from './start.js';
import { readLoginSettings } from './web/github-login.js';

interface Roles {
  receiver: boolean;
  worker: boolean;
  pools?: string;
  slack?: string;
  confirm?: string;
}

async function run({ pools, slack, confirm, ...roles }: Roles): Promise<void> {
  const servedPools = pools === undefined ? undefined : parsePools(pools, '--pools');
  const read = readEnv();
  const env = { ...read, confirm: parseLevel(confirm, '--confirm') ?? read.confirm };
  const started = startDeployer({
    env,
    flavour: resolveFlavour(env),
    probotEnv: process.env,
    deploySettings: { ...readDeploySettings(), ...(slack ? { slackWebhookFile: slack } : {}) },
    ...roles,
    pools: servedPools,
  });
  stopOnSignals(started);
  await started;
}

/**
 * SIGINT/SIGTERM close what was started and exit 0; a second signal exits at once.
 * A signal that comes while still starting (Redis not answering yet) exits at once
 * too: nothing has been taken on that could be drained.
 */
function stopOnSignals(started: Promise<{ close(): Promise<void> }>): void {
  let running: { close(): Promise<void> } | undefined;
  started.then((r) => (running = r)).catch(() => undefined);
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping || !running) process.exit(stopping ? 1 : 0);
    stopping = true;
    console.error(`${signal}: shutting down; send the signal again to exit at once`);
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', (s) => void stop(s));
  process.on('SIGTERM', (s) => void stop(s));
}

function envFor(flavour?: string) {
  const env = readEnv(flavour ? { ...process.env, DEPLOYER_FLAVOUR: flavour } : process.env);
  return { env, flavour: resolveFlavour(env) };
}

async function runLocal(
  repo: string | undefined,
  opts: { flavour?: string; confirm?: string; poll: string },
) {
  const confirm = parseLevel(opts.confirm, '--confirm');
  const { env, flavour } = envFor(opts.flavour);
  const started = startLocal({
    env,
    flavour,
    repo,
    confirm,
    deploySettings: readDeploySettings(),
    pollMs: positiveInt(opts.poll, '--poll') * 1000,
    web: { port: positiveInt(process.env.PORT ?? '3000', 'PORT'), host: 'localhost' },
    login: readLoginSettings(),
  });
  stopOnSignals(started);
  await started;
}

async function withGates(flavourName: string | undefined, fn: (gates: Gates) => Promise<void>) {
  const { env, flavour } = envFor(flavourName);
  const runtime = createRuntime(env, flavour);
  try {
    await fn(runtime.gates);
  } finally {
    await runtime.close();
  }
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  const { code, port } = err as { code?: string; port?: number };
  if (code === 'EADDRINUSE') {
    console.error(`port ${port} is in use: stop what listens there, or set PORT`);
    process.exit(2);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
}

const CONFIRM_HELP = `operations at or above this level wait for an admin: web UI, the check run's Confirm, or \`deployer confirm\` (${LEVELS.join(', ')}; default $DEPLOYER_CONFIRM)`;
const SLACK_HELP =
  'file holding the Slack incoming-webhook URL (default $DEPLOYER_SLACK_WEBHOOK_FILE)';

const program = new Command('deployer').description(
  'Continuous deployment of Docker services from GitHub',
);
program
  .command('start')
  .description('receiver and worker in one process')
  .option('--slack <file>', SLACK_HELP)
  .option('--confirm <level>', CONFIRM_HELP)
  .action((opts: { slack?: string; confirm?: string }) =>
    run({ receiver: true, worker: true, ...opts }).catch(fail),
  );
program
  .command('serve')
  .description('receive webhooks and enqueue jobs (no builds)')
  .action(() => run({ receiver: true, worker: false }).catch(fail));
program
  .command('worker')
  .description('build and deploy jobs from the queues')
  .option('--pools <list>', 'build pools to serve, comma-separated (default $DEPLOYER_POOLS)')
  .option('--slack <file>', SLACK_HELP)
  .option('--confirm <level>', CONFIRM_HELP)
  .action((opts: { pools?: string; slack?: string; confirm?: string }) =>
    run({ receiver: false, worker: true, ...opts }).catch(fail),
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

program
  .command('local [repo]')
  .description(
    'local mode: no GitHub App; deployment branches polled with git ls-remote and deployed; web UI on localhost:$PORT (3000)',
  )
  .option('--flavour <name>', 'built-in flavour (default $DEPLOYER_FLAVOUR; DEPLOYER_CONFIG wins)')
  .option(
    '--confirm <level>',
    `operations at or above this level wait for \`deployer confirm\` (${LEVELS.join(', ')})`,
  )
  .option('--poll <seconds>', 'how often branch heads are read', '60')
  .action((repo: string | undefined, opts: { flavour?: string; confirm?: string; poll: string }) =>
    runLocal(repo, opts).catch(fail),
  );
program
  .command('pending')
  .description('operations waiting for confirmation')
  .option('--flavour <name>', 'built-in flavour (default $DEPLOYER_FLAVOUR; DEPLOYER_CONFIG wins)')
  .action((opts: { flavour?: string }) =>
    withGates(opts.flavour, async (gates) => {
      const pending = await gates.pending();
      if (!pending.length) console.log('nothing is waiting for confirmation');
      for (const p of pending) console.log(`${p.jobId} ${p.op}: ${p.description}`);
    }).catch(fail),
  );
program
  .command('confirm <job> <operation>')
  .description('let a waiting operation (build, push or deploy) of a job go ahead')
  .option('--flavour <name>', 'built-in flavour (default $DEPLOYER_FLAVOUR; DEPLOYER_CONFIG wins)')
  .action((job: string, op: string, opts: { flavour?: string }) =>
    withGates(opts.flavour, async (gates) => {
      if (!(op in OPERATION_LEVELS))
        throw new ConfigError(`operation: expected build, push or deploy, got "${op}"`);
      if (!(await gates.confirm(job, op as Operation))) {
        throw new ConfigError(`${job} is not waiting for ${op} (see deployer pending)`);
      }
      console.log(`confirmed ${op} of ${job}`);
    }).catch(fail),
  );
program
  .command('docs')
  .description('render doc/services.md from the built-in flavours')
  .option('--output <file>', 'where to write it', 'doc/services.md')
  .option('--check', 'exit 1 when the file differs from what would be written')
  .action((opts: { output: string; check?: boolean }) => {
    try {
      const text = renderServicesDoc(
        Object.keys(builtInFlavours).map((name) => resolveFlavour({ flavourName: name })),
      );
      if (!opts.check) return writeFileSync(opts.output, text);
      const current = existsSync(opts.output) ? readFileSync(opts.output, 'utf8') : '';
      if (current === text) return console.log(`${opts.output} is up to date`);
      console.error(`${opts.output} is stale: run \`deployer docs\` and commit it`);
      process.exit(1);
    } catch (err) {
      fail(err);
    }
  });

await program.parseAsync();
