import type Docker from 'dockerode';
import { EngineError } from '../errors.js';

// What a request to an engine that is restarting or gone fails with.
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE']);

/** Where an engine is, as messages name it: its socket, or host:port. */
export function engineAddress(docker: Docker): string {
  const modem = docker.modem as unknown as { socketPath?: unknown; host?: unknown; port?: unknown };
  if (typeof modem.socketPath === 'string') return modem.socketPath;
  if (typeof modem.host === 'string') return `${modem.host}:${String(modem.port ?? '')}`;
  return 'the default socket'; // docker-modem looks it up at the first request
}

/**
 * A request the engine never answered, or whose answer broke off (dockerd
 * restarting), as an `EngineError` saying so — retried like any failure of the
 * machinery; the bare "connect ENOENT" or "aborted" names neither. Other errors
 * are returned as they are.
 */
export function engineConnectionError(docker: Docker, err: unknown, during: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !CONNECTION_CODES.has(code)) return err;
  const where = engineAddress(docker);
  const why = (err as Error).message;
  return code === 'ECONNRESET'
    ? new EngineError(`lost the Docker engine (${where}) during ${during}: ${why}`)
    : new EngineError(`cannot reach the Docker engine (${where}) for ${during}: ${why}`);
}
