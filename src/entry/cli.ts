#!/usr/bin/env node
import { Command } from 'commander';
import { parseLevel, parseListenPort, parsePools, positiveInt, readEnv } from '../config/env.js';
import { checkLogging, preflight } from '../config/preflight.js';
import { packageVersion } from '../observe/package-version.js';
import { reachRedis, RedisUnreachable } from '../observe/reach-redis.js';
import { resolveFlavour } from '../config/flavour.js';
import { ConfigError } from '../config/load.js';
import { FLAVOUR_SCHEMA_FILE, renderFlavourJsonSchema } from '../config/json-schema.js';
import { checkConfig } from './check-config.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readDeploySettings } from '../wiring/deploy-deps.js';
import { builtInFlavours } from '../deployers/index.js';
import { renderServicesDoc } from '../config/services-doc.js';
import { LEVELS, OPERATION_LEVELS, type Gates, type Operation } from '../store/gates.js';
import { startLocal } from './local.js';
import { createRuntime } from '../wiring/runtime.js';
import { startDeployer } from './start.js';
import { readLoginSettings } from '../web/github-login.js';
import { addOriginalFlags, originalFlagsEnv, type OriginalFlags } from './original-flags.js';
import { runSetup, type SetupCommandOptions } from './setup-command.js';

interface RoleOptions extends OriginalFlags {
  pools?: string;
  slack?: string;
  confirm?: string;
}

async function run(
  roles: { receiver: boolean; worker: boolean },
  { pools, slack, confirm, ...original }: RoleOptions,
): Promise<void> {
  const servedPools = pools === undefined ? undefined : parsePools(pools, '--pools');
  const processEnv = originalFlagsEnv(original, process.env);
  const read = readEnv(processEnv);
  const env = {
    ...read,
    confirm: confirm === undefined ? read.confirm : parseLevel(confirm, '--confirm'),
  };
  const flavour = resolveFlavour(env);
  preflight(processEnv, { receiver: roles.receiver });
  const started = startDeployer({
    env,
    flavour,
    probotEnv: processEnv,
    deploySettings: readDeploySettings(
      slack ? { ...processEnv, DEPLOYER_SLACK_WEBHOOK_FILE: slack } : processEnv,
    ),
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
  checkLogging(process.env);
  const { env, flavour } = envFor(opts.flavour);
  const started = startLocal({
    env,
    flavour,
    repo,
    confirm,
    deploySettings: readDeploySettings(),
    pollMs: positiveInt(opts.poll, '--poll') * 1000,
    web: { port: parseListenPort(process.env.PORT || '3000', 'PORT'), host: 'localhost' },
    login: readLoginSettings(),
  });
  stopOnSignals(started);
  await started;
}

async function withGates(flavourName: string | undefined, fn: (gates: Gates) => Promise<void>) {
  const { env, flavour } = envFor(flavourName);
  const runtime = createRuntime(env, flavour);
  runtime.redis.on('error', () => undefined); // reachRedis says it, in one line
  try {
    await reachRedis(runtime.redis, env.redisUrl);
  } catch (err) {
    runtime.redis.disconnect();
    throw err;
  }
  try {
    await fn(runtime.gates);
  } finally {
    await runtime.close();
  }
}

function fail(err: unknown): never {
  if (err instanceof RedisUnreachable) {
    console.error(err.message);
    process.exit(1);
  }
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  const { code, port } = err as { code?: string; port?: number };
  if (code === 'EADDRINUSE') {
    console.error(
      `port ${port} is in use: stop what listens there, or set PORT (DEPLOYER_METRICS_PORT for the metrics port)`,
    );
    process.exit(2);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
}

/** Writes a generated file; with `check`, exits 1 when the committed one differs instead. */
function writeOrCheck(file: string, text: string, command: string, check?: boolean): void {
  if (!check) return writeFileSync(file, text);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (current === text) return console.log(`${file} is up to date`);
  console.error(`${file} is stale: run \`deployer ${command}\` and commit it`);
  process.exit(1);
}

const CONFIRM_HELP = `operations at or above this level wait for an admin: web UI, the check run's Confirm, or \`deployer confirm\` (none, ${LEVELS.join(', ')}; default $DEPLOYER_CONFIRM)`;
const SLACK_HELP =
  'file holding the Slack incoming-webhook URL (default $DEPLOYER_SLACK_WEBHOOK_FILE)';

const program = new Command('deployer')
  .description('Continuous deployment of Docker services from GitHub')
  .version(packageVersion());
/** `start`, `serve` and `worker`: the roles, with the original's options on each. */
function roleCommand(
  name: string,
  description: string,
  roles: { receiver: boolean; worker: boolean },
) {
  const command = program
    .command(name)
    .description(description)
    .option('--slack <file>', SLACK_HELP)
    .option('--confirm <level>', CONFIRM_HELP);
  if (roles.worker)
    command.option(
      '--pools <list>',
      'build pools to serve, comma-separated (default $DEPLOYER_POOLS)',
    );
  addOriginalFlags(command).action((opts: RoleOptions) => run(roles, opts).catch(fail));
}
roleCommand('start', 'receiver and worker in one process', { receiver: true, worker: true });
roleCommand('serve', 'receive webhooks and enqueue jobs (no builds)', {
  receiver: true,
  worker: false,
});
roleCommand('worker', 'build and deploy jobs from the queues', { receiver: false, worker: true });
program
  .command('setup')
  .description(
    'register the GitHub App from app.yml (on GHE_HOST, else github.com) and write its id, key and secrets to .env',
  )
  .option('--url <url>', "the receiver's public address (default: the flavour's baseUrl)")
  .option('--org <org>', 'register the App for this organization instead of your account')
  .option('--name <name>', "the App's name (default: app.yml's; unique on the GitHub instance)")
  .option('--port <port>', 'port of the local registration page', process.env.PORT ?? '3000')
  .option('--env-path <file>', 'settings file to merge the App into', '.env')
  .option('--manifest <file>', 'App manifest (default: ./app.yml, else the one shipped)')
  .option('--flavour <name>', 'built-in flavour (default $DEPLOYER_FLAVOUR; DEPLOYER_CONFIG wins)')
  .action((opts: SetupCommandOptions) => runSetup(opts).catch(fail));
program
  .command('check-config [file]')
  .description(
    'validate a flavour file (or the configured flavour): schema, repeated repositories, services deployed twice, unknown docker contexts',
  )
  .option('--strict', 'warnings (such as an unknown docker context) fail too')
  .action((file: string | undefined, opts: { strict?: boolean }) => {
    try {
      checkConfig(file, opts);
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
      writeOrCheck(opts.output, text, 'docs', opts.check);
    } catch (err) {
      fail(err);
    }
  });
program
  .command('schema')
  .description("write the flavour file's JSON Schema (for editors) from the config schema")
  .option('--output <file>', 'where to write it', FLAVOUR_SCHEMA_FILE)
  .option('--check', 'exit 1 when the file differs from what would be written')
  .action((opts: { output: string; check?: boolean }) => {
    try {
      writeOrCheck(opts.output, renderFlavourJsonSchema(), 'schema', opts.check);
    } catch (err) {
      fail(err);
    }
  });

await program.parseAsync();
