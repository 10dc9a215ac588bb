import { createPrivateKey } from 'node:crypto';
import { getPrivateKey } from '@probot/get-private-key';
import { requireAppId } from './app-id.js';
import { requireWebhookSecret } from './webhook-secret.js';
import { parseListenPort } from './env.js';
import { ConfigError } from './load.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const LOG_FORMATS = ['json', 'pretty'];

/**
 * Probot's settings checked before anything starts, so a mistake is one line that
 * names the variable instead of a stack trace from deep inside Probot or Octokit.
 * Every role acts as the App; a `receiver` also listens on PORT for webhooks.
 */
export function preflight(env: NodeJS.ProcessEnv, { receiver }: { receiver: boolean }) {
  checkLogging(env);
  if (receiver && env.PORT) parseListenPort(env.PORT, 'PORT');
  requireAppId(env);
  if (!/^[1-9][0-9]*$/.test(env.APP_ID ?? ''))
    throw new ConfigError(`APP_ID: expected the App's numeric id, got "${env.APP_ID}"`);
  if (receiver) requireWebhookSecret(env);
  checkPrivateKey(env);
}

export function checkLogging(env: NodeJS.ProcessEnv): void {
  oneOf(env.LOG_LEVEL, LOG_LEVELS, 'LOG_LEVEL');
  oneOf(env.LOG_FORMAT, LOG_FORMATS, 'LOG_FORMAT');
}

function oneOf(value: string | undefined, allowed: string[], name: string) {
  if (value && !allowed.includes(value))
    throw new ConfigError(`${name}: expected one of ${allowed.join(', ')}, got "${value}"`);
}

/** The key as Probot will read it (PRIVATE_KEY, else PRIVATE_KEY_PATH, else one *.pem here). */
function checkPrivateKey(env: NodeJS.ProcessEnv): void {
  const source = env.PRIVATE_KEY
    ? 'PRIVATE_KEY'
    : env.PRIVATE_KEY_PATH
      ? `PRIVATE_KEY_PATH (${env.PRIVATE_KEY_PATH})`
      : 'the .pem file in the working directory';
  let pem: string | null;
  try {
    pem = getPrivateKey({ env });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new ConfigError(`${source}: cannot read it (${code})`);
    throw new ConfigError(
      env.PRIVATE_KEY_PATH && !env.PRIVATE_KEY
        ? `PRIVATE_KEY_PATH: no such file ${env.PRIVATE_KEY_PATH}`
        : `${source}: expected the App's private key (the .pem file's text, or it in base64)`,
    );
  }
  if (!pem)
    throw new ConfigError(
      "PRIVATE_KEY or PRIVATE_KEY_PATH: not set; set PRIVATE_KEY_PATH to the App's .pem file (or run `deployer setup`)",
    );
  try {
    createPrivateKey(pem);
  } catch {
    throw new ConfigError(
      `${source}: not a PEM private key (the .pem file GitHub gave for the App)`,
    );
  }
}
