import { serviceTarget } from './service-target.js';
import { DeployError, type DeployOutcome, type ServiceContext } from './target.js';

/** The compose file with `$IMAGE_HASH` / `${IMAGE_HASH}` replaced by the digest. */
export function withImageHash(compose: string, digest: string): string {
  return compose.replace(/\$\{IMAGE_HASH\}|\$IMAGE_HASH\b/g, digest);
}

export const stackDeployArgv = (name: string): string[] => [
  'docker',
  'stack',
  'deploy',
  '--with-registry-auth',
  '--compose-file',
  '-',
  name,
];

// `docker compose` (v2 plugin) where the host has it, else the standalone docker-compose.
const COMPOSE =
  'if docker compose version >/dev/null 2>&1; then exec docker compose "$@"; else exec docker-compose "$@"; fi';
export const composeUpArgv = (name: string): string[] => [
  'sh',
  '-c',
  COMPOSE,
  'compose',
  '--project-name',
  name,
  '--file',
  '-',
  'up',
  '--detach',
  '--remove-orphans',
];

export const loginArgv = (registry: string, username: string): string[] => [
  'docker',
  'login',
  '--username',
  username,
  '--password-stdin',
  registry,
];

function composeUp(argv: (name: string) => string[]) {
  return async (ctx: ServiceContext): Promise<DeployOutcome> => {
    if (ctx.composeFile === undefined)
      throw new DeployError(`${ctx.service.name}: no compose file`);
    if (ctx.auth)
      await ctx.shell(loginArgv(ctx.auth.serveraddress, ctx.auth.username), ctx.auth.password);
    const command = argv(ctx.service.name);
    ctx.log(`Running ${command.join(' ')} with ${ctx.service.compose} (IMAGE_HASH=${ctx.digest})`);
    const out = await ctx.shell(command, withImageHash(ctx.composeFile, ctx.digest));
    for (const line of out.split('\n').filter(Boolean)) ctx.log(line);
    return { changed: true };
  };
}

/** `docker stack deploy` on a Swarm manager. */
export const deployStack = composeUp(stackDeployArgv);
/** `docker compose up -d` on a plain engine. */
export const deployCompose = composeUp(composeUpArgv);

export const stack = serviceTarget('stack', deployStack);
export const compose = serviceTarget('compose', deployCompose);
