import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createNodeMiddleware, Webhooks } from '@octokit/webhooks';
import type { Probot } from 'probot';
import { registerHandlers } from './routes.js';
import type { HandlerDeps } from './handlers/accept.js';
import type { ActionDeps } from './handlers/requested-action.js';
import type { Metrics } from '../metrics.js';
import { answerStatus } from '../observe/status-routes.js';
import type { RedisProbe } from '../observe/redis-probe.js';
import {
  capConnections,
  DEFAULT_RECEIVER_LIMITS,
  serverOptions,
  type ReceiverLimits,
} from './limits.js';
import { createWebApp, type WebDeps } from '../web/routes.js';
import { guardWebhooks } from './guard.js';

export interface ReceiverOptions {
  /** For its logger and webhook path; deliveries are verified with `webhookSecret`. */
  probot: Probot;
  webhookSecret: string;
  deps: HandlerDeps & ActionDeps;
  port: number;
  host: string;
  metrics?: Metrics;
  /** What /readyz asks (src/observe/status-routes.ts). */
  redis?: RedisProbe;
  /** The web UI, served for whatever Probot and the routes below do not answer. */
  web?: WebDeps;
  /** Default: DEFAULT_RECEIVER_LIMITS. */
  limits?: Partial<ReceiverLimits>;
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
  const limits = { ...DEFAULT_RECEIVER_LIMITS, ...opts.limits };
  const signed = new WeakSet<IncomingMessage>();
  const middleware = guardWebhooks(createNodeMiddleware(webhooks, { path, log }), {
    secret: opts.webhookSecret,
    path,
    limits,
    onSigned: (req) => signed.add(req),
  });
  const { metrics, redis } = opts;
  const web =
    opts.web &&
    createWebApp({
      log: probot.log,
      ...opts.web,
      stream: { stopped: () => !server.listening },
    });
  const server = createServer(serverOptions(limits), (req, res) => {
    if (req.method === 'POST' && isOriginalWebhookPath(req.url)) req.url = path;
    const event = req.headers['x-github-event'];
    if (metrics && req.method === 'POST' && typeof event === 'string') {
      res.once('finish', () => metrics.webhookAnswered(event, signed.has(req), res.statusCode));
    }
    void middleware(req, res, () => {
      if (answerStatus(req, res, { metrics, redis })) return;
      if (web) web(req, res);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
  });
  capConnections(server, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}

/** The original deployer's webhook path, taken too so that an App's webhook URL need not change. */
const ORIGINAL_WEBHOOK_PATH = '/webhooks/github';

function isOriginalWebhookPath(url: string | undefined): boolean {
  const [pathname] = (url ?? '').split('?');
  return pathname.replace(/\/+$/, '') === ORIGINAL_WEBHOOK_PATH;
}
