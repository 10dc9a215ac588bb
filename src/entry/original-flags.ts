import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { positiveInt } from '../config/env.js';
import { ConfigError } from '../config/load.js';

/** The original ocurrent-deployer's options, as `deployer start`, `serve` and `worker` take them. */
export interface OriginalFlags {
  flavour?: string;
  githubAppId?: string;
  githubPrivateKeyFile?: string;
  githubWebhookSecretFile?: string;
  githubAccountAllowlist?: string;
  githubOauth?: string;
  confirmAutoRelease?: string;
  port?: string;
  host?: string;
  listenPrometheus?: string;
  stagingPasswordFile?: string;
  submissionService?: string;
  verbosity?: string;
  verbose?: number;
}

const GROUP =
  'Options of the original ocurrent-deployer (each sets the variable it names; see docs/migrating.md):';

const OPTIONS: [flags: string, description: string][] = [
  [
    '--flavour <name>',
    'built-in flavour: tarides, ocaml-org (or ocaml), mirage; $DEPLOYER_FLAVOUR (DEPLOYER_CONFIG wins)',
  ],
  ['--github-app-id <id>', "the GitHub App's id; $APP_ID"],
  ['--github-private-key-file <file>', "the App's private key; $PRIVATE_KEY_PATH"],
  [
    '--github-webhook-secret-file <file>',
    "file holding the App's webhook secret; $WEBHOOK_SECRET_FILE",
  ],
  [
    '--github-account-allowlist <accounts>',
    'serve only repositories of these GitHub accounts, comma-separated; $DEPLOYER_ACCOUNT_ALLOWLIST',
  ],
  [
    '--github-oauth <file>',
    'JSON file with client_id and client_secret: web UI sign-in; $GITHUB_CLIENT_ID, $GITHUB_CLIENT_SECRET',
  ],
  [
    '--confirm-auto-release <seconds>',
    'the --confirm level stops holding this long after a worker starts; $DEPLOYER_CONFIRM_AUTO_RELEASE_MS',
  ],
  ['--port <port>', "the receiver's port (web UI and webhooks); $PORT"],
  ['--host <address>', "the receiver's address; $HOST"],
  ['--listen-prometheus <port>', 'also serve /metrics on this port; $DEPLOYER_METRICS_PORT'],
  [
    '--staging-password-file <file>',
    'password of $DEPLOYER_REGISTRY_USER for the staging registry; $DEPLOYER_REGISTRY_PASSWORD_FILE',
  ],
  [
    '--submission-service <file>',
    'refused: there is no OCluster here; builds run in `deployer worker --pools` processes',
  ],
  ['--verbosity <level>', 'quiet, error, warning, info or debug; $LOG_LEVEL'],
];

/** Adds the original's options to a command, under a heading of their own in its help. */
export function addOriginalFlags(command: Command): Command {
  for (const [flags, description] of OPTIONS)
    command.addOption(new Option(flags, description).helpGroup(GROUP));
  command.addOption(
    new Option('-v, --verbose', 'more log: -v info, -vv debug; $LOG_LEVEL')
      .argParser((_value: string, previous: number | undefined) => (previous ?? 0) + 1)
      .helpGroup(GROUP),
  );
  return command;
}

type LogLevel = NonNullable<NodeJS.ProcessEnv['LOG_LEVEL']>;

const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  quiet: 'silent',
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
};

const oauthSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  scopes: z.array(z.string()).optional(),
});

/** The client id and secret of the original's `--github-oauth` file (`{"client_id", "client_secret", "scopes"}`). */
function readOAuthFile(file: string): { id: string; secret: string } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `--github-oauth: cannot read ${file} as JSON (${(err as Error).message})`,
    );
  }
  const parsed = oauthSchema.safeParse(json);
  if (!parsed.success)
    throw new ConfigError(
      `--github-oauth: ${file}: expected {"client_id": "…", "client_secret": "…"}, as the original took`,
    );
  return { id: parsed.data.client_id, secret: parsed.data.client_secret };
}

/**
 * The environment with the original's options turned into the variables this
 * deployer reads; an option wins over its variable. Only the OAuth file is read here
 * (the others name files that their readers open).
 */
export function originalFlagsEnv(flags: OriginalFlags, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (flags.submissionService !== undefined)
    throw new ConfigError(
      '--submission-service: there is no OCluster scheduler here: builds run in `deployer worker` processes, one or more per build pool (--pools, DEPLOYER_POOLS); see docs/migrating.md',
    );
  const out: NodeJS.ProcessEnv = { ...env };
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) out[name] = value;
  };
  set('DEPLOYER_FLAVOUR', flags.flavour);
  set('APP_ID', flags.githubAppId);
  if (flags.githubPrivateKeyFile !== undefined) {
    out.PRIVATE_KEY_PATH = flags.githubPrivateKeyFile;
    delete out.PRIVATE_KEY; // it would win over the file
  }
  if (flags.githubWebhookSecretFile !== undefined) {
    out.WEBHOOK_SECRET_FILE = flags.githubWebhookSecretFile;
    delete out.WEBHOOK_SECRET;
  }
  set('DEPLOYER_ACCOUNT_ALLOWLIST', flags.githubAccountAllowlist);
  if (flags.githubOauth !== undefined) {
    const { id, secret } = readOAuthFile(flags.githubOauth);
    out.GITHUB_CLIENT_ID = id;
    out.GITHUB_CLIENT_SECRET = secret;
  }
  if (flags.confirmAutoRelease !== undefined)
    out.DEPLOYER_CONFIRM_AUTO_RELEASE_MS = String(
      positiveInt(flags.confirmAutoRelease, '--confirm-auto-release') * 1000,
    );
  if (flags.port !== undefined) out.PORT = String(positiveInt(flags.port, '--port'));
  set('HOST', flags.host);
  if (flags.listenPrometheus !== undefined)
    out.DEPLOYER_METRICS_PORT = String(positiveInt(flags.listenPrometheus, '--listen-prometheus'));
  if (flags.stagingPasswordFile !== undefined) {
    if (!out.DEPLOYER_REGISTRY_USER)
      throw new ConfigError(
        '--staging-password-file: set DEPLOYER_REGISTRY_USER to the account it is the password of (the original always used ocurrentbuilder); one account per registry pushes both staged and deployed images',
      );
    out.DEPLOYER_REGISTRY_PASSWORD_FILE = flags.stagingPasswordFile;
  }
  const level = logLevel(flags);
  if (level) out.LOG_LEVEL = level;
  return out;
}

function logLevel(flags: OriginalFlags): LogLevel | undefined {
  if (flags.verbosity !== undefined) {
    const level = LOG_LEVELS[flags.verbosity];
    if (!Object.hasOwn(LOG_LEVELS, flags.verbosity))
      throw new ConfigError(
        `--verbosity: expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got "${flags.verbosity}"`,
      );
    return level;
  }
  if (flags.verbose) return flags.verbose > 1 ? 'debug' : 'info';
  return undefined;
}
