import { createServer, type Server, type ServerResponse } from 'node:http';
import { createNodeMiddleware, Webhooks } from '@octokit/webhooks';
import type { Probot } from 'probot';
import { registerHandlers } from './app.js';
import type { HandlerDeps } from './handlers/accept.js';
import type { ActionDeps } from './handlers/requested-action.js';
import type { Metrics } from './metrics.js';
import { createWebApp, type WebDeps } from './web/routes.js';
import { guardWebhooks } from './webhook-guard.js';

export interface ReceiverOptions {
  /** For its logger and webhook path; deliveries are verified with `webhookSecret`. */
  probot: Probot;
  webhookSecret: string;
  deps: HandlerDeps & ActionDeps;
  port: number;
  host: string;
  metrics?: Metrics;
  /** The web UI, served for whatever Probot and the routes below do not answer. */
  web?: WebDeps;
}

/**
 * The HTTP server: the webhook endpoint (signature checked, behind the guard that
 * answers what @octokit/webhooks would answer with a 500) plus the app's routes.
 *
 * Deliveries go to an @octokit/webhooks instance of the receiver's own rather than
 * Probot's: Probot's builds an installation client for every delivery before any
 * handler runs, and no handler here calls GitHub (workers do).
 */
export async function startReceiver(opts: ReceiverOptions): Promise<Server> {
  const { probot } = opts;
  const log = probot.log;
  const webhooks = new Webhooks({ secret: opts.webhookSecret, log });
  webhooks.onError((err) => log.error({ err, id: err.event?.id }, 'webhook handler failed'));
  registerHandlers(webhooks, log, opts.deps);
  const path = probot.webhookPath;
  const middleware = guardWebhooks(webhooks, createNodeMiddleware(webhooks, { path, log }), path);
  const { metrics } = opts;
  const web =
    opts.web &&
    createWebApp({
      log: probot.log,
      ...opts.web,
      stream: { stopped: () => !server.listening },
    });
  const server = createServer((req, res) => {
    const event = req.headers['x-github-event'];
    if (metrics && req.method === 'POST' && typeof event === 'string') {
      // Unknown names are counted together: the label set must stay small.
      const name = /^[a-z_]{1,40}$/.test(event) ? event : 'other';
      res.once('finish', () =>
        metrics.webhooks.inc({ event: name, status: String(res.statusCode) }),
      );
    }
    void middleware(req, res, () => {
      if (req.url === '/healthz') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else if (req.url === '/metrics' && metrics) void serveMetrics(metrics, res);
      else if (web) web(req, res);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}

async function serveMetrics(metrics: Metrics, res: ServerResponse): Promise<void> {
  try {
    const text = await metrics.text();
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
  } catch (err) {
    res
      .writeHead(500, { 'content-type': 'text/plain' })
      .end(`metrics unavailable: ${(err as Error).message}\n`);
  }
}
