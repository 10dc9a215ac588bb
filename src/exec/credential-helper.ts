import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import { credentialHelperEnv } from './child-env.js';
import { CommandError } from './errors.js';
import { DOCKER_HUB } from './image-ref.js';
import { runToExit } from './run.js';

/** A user and secret a credential helper holds for one server. */
export interface HelperCredentials {
  username: string;
  secret: string;
}

// What `docker login` stores under, and so what a helper is asked for: Docker Hub
// under its v1 URL, other registries under `host[:port]`.
const HUB_SERVER_URL = 'https://index.docker.io/v1/';
// docker-credential-helpers' own words for "nothing stored for this server".
const NOT_FOUND = 'credentials not found in native keychain';
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TIME_LIMIT_MS = 30_000;

const answerSchema = z.object({ Username: z.string(), Secret: z.string() });

/**
 * Asks `docker-credential-<helper>` (found on PATH) for `registry`'s credentials, as
 * the docker CLI does: `get`, the server URL on stdin, JSON on stdout. Undefined when
 * the helper has none for it. `where` names the setting in errors
 * (`credHelpers in /root/.docker/config.json`).
 */
export async function credentialsFromHelper(
  helper: string,
  registry: string,
  where: string,
): Promise<HelperCredentials | undefined> {
  if (!HELPER_NAME.test(helper))
    throw new ConfigError(`${where}: bad credential helper name "${helper}"`);
  const program = `docker-credential-${helper}`;
  const serverUrl = registry === DOCKER_HUB ? HUB_SERVER_URL : registry;
  let exited;
  try {
    exited = await runToExit([program, 'get'], {
      input: serverUrl,
      env: credentialHelperEnv(),
      timeoutMs: TIME_LIMIT_MS,
    });
  } catch (err) {
    const tail = err instanceof CommandError ? err.stderrTail : (err as Error).message;
    const why = tail.startsWith('spawn ')
      ? `cannot start it (${tail}): is it installed, on PATH?`
      : `it was stopped (time limit ${TIME_LIMIT_MS / 1000} s)`;
    throw new ConfigError(`${where}: ${program} get for ${registry}: ${why}`);
  }
  const out = exited.stdout.trim();
  if (exited.code !== 0) {
    if (out === NOT_FOUND) return undefined;
    const said = out || exited.stderr.trim() || `exit ${exited.code}`;
    throw new ConfigError(`${where}: ${program} failed for ${registry}: ${said.slice(-300)}`);
  }
  let answer: z.infer<typeof answerSchema>;
  try {
    answer = answerSchema.parse(JSON.parse(out));
  } catch {
    throw new ConfigError(
      `${where}: ${program} answered for ${registry} with something other than {"Username","Secret"} JSON`,
    );
  }
  if (answer.Username === '<token>')
    throw new ConfigError(
      `${where}: ${program} holds an identity token for ${registry}, which the deployer cannot use: ` +
        'store a user and password (or access token) instead',
    );
  if (!answer.Username || !answer.Secret) return undefined;
  return { username: answer.Username, secret: answer.Secret };
}
