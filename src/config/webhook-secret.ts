import { readFileSync } from 'node:fs';
import { ConfigError } from './load.js';

/**
 * The webhook secret a receiver verifies deliveries with: WEBHOOK_SECRET, or the
 * contents of the file WEBHOOK_SECRET_FILE names (without its final line break).
 * Probot would fall back to a well-known development secret, with which anyone
 * could sign a delivery: refuse instead.
 */
export function requireWebhookSecret(env: NodeJS.ProcessEnv): string {
  const file = env.WEBHOOK_SECRET_FILE;
  if (file && env.WEBHOOK_SECRET)
    throw new ConfigError('WEBHOOK_SECRET and WEBHOOK_SECRET_FILE: set one, not both');
  const secret = file ? readSecretFile(file) : env.WEBHOOK_SECRET;
  if (!secret) {
    throw new ConfigError(
      "WEBHOOK_SECRET: required to receive webhooks (the GitHub App's webhook secret, or WEBHOOK_SECRET_FILE naming a file that holds it)",
    );
  }
  return secret;
}

function readSecretFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `WEBHOOK_SECRET_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return text.replace(/\r?\n$/, '');
}
