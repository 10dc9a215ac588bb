import type { SshConnectConfig } from './connect-config.js';
import { describeTarget, type SshTarget } from './destination.js';
import { SshError } from './errors.js';
import type { SshSettings } from './settings.js';

/** An ssh2 (or dockerode-over-SSH) connection failure as an `SshError` that says what to do. */
export function sshErrorFor(
  err: unknown,
  target: SshTarget,
  settings: SshSettings,
  config?: SshConnectConfig,
): SshError {
  if (err instanceof SshError) return err;
  const where = describeTarget(target);
  const e = err as Error & { code?: string; level?: string };
  const problem = config?.hostKeyProblem();
  if (problem) return new SshError(problem, 'host-key', where);
  const cannot = `cannot connect to ${where}`;
  if (e.code === 'ECONNREFUSED')
    return new SshError(`${cannot}: connection refused`, 'refused', where);
  if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT')
    return new SshError(
      `${cannot}: timed out after ${settings.connectTimeoutMs}ms`,
      'timeout',
      where,
    );
  if (e.level === 'client-authentication')
    return new SshError(
      config?.loginRefused ?? `cannot log in to ${target.username}@${where}: refused`,
      'auth',
      where,
    );
  if (e.level === 'agent')
    return new SshError(
      `cannot use ssh-agent at ${settings.agentSocket} (SSH_AUTH_SOCK): ${e.message}`,
      'auth',
      where,
    );
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return new SshError(`${cannot}: unknown host name`, 'other', where);
  if (e.code === 'ECONNRESET')
    return new SshError(`${cannot}: the connection was reset`, 'closed', where);
  return new SshError(`${cannot}: ${e.message ?? String(err)}`, 'other', where);
}

/** The connection ended while a command or copy still ran. */
export const closedEarly = (where: string) =>
  new SshError(`connection to ${where} closed before the command finished`, 'closed', where);
