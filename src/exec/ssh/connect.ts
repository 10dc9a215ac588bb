import { Client } from 'ssh2';
import { CancelledError } from '../errors.js';
import { sshConnectConfig, type SshConnectConfig } from './connect-config.js';
import { closedEarly, sshErrorFor } from './connection-error.js';
import { describeTarget, type SshTarget } from './destination.js';
import { SshError } from './errors.js';
import type { SshSettings } from './settings.js';

export interface ConnectionLimits {
  settings: SshSettings;
  /** The whole call, connection included; default `settings.commandTimeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Connects, runs `use`, and always closes the connection. The whole call is bounded
 * by `timeoutMs` (the login alone by `connectTimeoutMs`); `what` names it in timeouts.
 */
export function withConnection<T>(
  target: SshTarget,
  limits: ConnectionLimits,
  what: string,
  use: (conn: Client) => Promise<T>,
): Promise<T> {
  const { settings, signal } = limits;
  const timeoutMs = limits.timeoutMs ?? settings.commandTimeoutMs;
  const where = describeTarget(target);
  if (signal?.aborted)
    return Promise.reject(new CancelledError(String(signal.reason ?? 'cancelled')));
  let config: SshConnectConfig;
  try {
    config = sshConnectConfig(target, settings);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const conn = new Client();
  return new Promise<T>((resolve, reject) => {
    let ready = false;
    let done = false;
    const finish = (err: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(loginTimer);
      clearTimeout(callTimer);
      signal?.removeEventListener('abort', onAbort);
      if (ready) conn.end();
      else conn.destroy();
      if (err) reject(err);
      else resolve(value as T);
    };
    const onAbort = () => finish(new CancelledError(String(signal?.reason ?? 'cancelled')));
    signal?.addEventListener('abort', onAbort, { once: true });
    const loginTimer = setTimeout(
      () => finish(sshErrorFor({ level: 'client-timeout' }, target, settings)),
      settings.connectTimeoutMs,
    );
    const callTimer = setTimeout(
      () =>
        finish(
          new SshError(`${what} on ${where} timed out after ${timeoutMs}ms`, 'timeout', where),
        ),
      timeoutMs,
    );
    conn.on('error', (err) =>
      finish(ready ? closedEarly(where) : sshErrorFor(err, target, settings, config)),
    );
    conn.on('close', () =>
      finish(
        ready
          ? closedEarly(where)
          : sshErrorFor(new Error('the connection closed during login'), target, settings, config),
      ),
    );
    conn.on('ready', () => {
      ready = true;
      clearTimeout(loginTimer);
      use(conn).then(
        (value) => finish(undefined, value),
        (err: Error) => finish(err),
      );
    });
    try {
      conn.connect(config);
    } catch (err) {
      finish(sshErrorFor(err, target, settings, config));
    }
  });
}
