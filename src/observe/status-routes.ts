import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.js';
import type { RedisProbe } from './redis-probe.js';

export interface StatusDeps {
  metrics?: Metrics;
  /** What /readyz asks; without it the process is ready once it answers at all. */
  redis?: RedisProbe;
}

/**
 * Answers /healthz (the process is alive: always 200), /readyz (200 when Redis
 * answers, 503 when not) and /metrics; false for any other request.
 */
export function answerStatus(req: IncomingMessage, res: ServerResponse, deps: StatusDeps): boolean {
  const path = req.url?.split('?')[0];
  if (path === '/healthz') text(res, 200, 'ok\n');
  else if (path === '/readyz') void answerReady(res, deps.redis);
  else if (path === '/metrics' && deps.metrics) void answerMetrics(res, deps.metrics);
  else return false;
  return true;
}

/** A server of these routes alone, for a process with no other (a worker): DEPLOYER_METRICS_PORT. */
export async function startStatusServer(
  port: number,
  host: string,
  deps: StatusDeps,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (!answerStatus(req, res, deps)) text(res, 404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

async function answerReady(res: ServerResponse, redis: RedisProbe | undefined): Promise<void> {
  if (!redis || (await redis.answers())) text(res, 200, 'ready\n');
  else text(res, 503, 'not ready: Redis does not answer\n');
}

async function answerMetrics(res: ServerResponse, metrics: Metrics): Promise<void> {
  try {
    const body = await metrics.text();
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
  } catch (err) {
    text(res, 500, `metrics unavailable: ${(err as Error).message}\n`);
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
}
