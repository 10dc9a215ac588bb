import { createServer, type Server } from 'node:http';
import { createNodeMiddleware, type Probot } from 'probot';
import { createApp } from './app.js';
import type { HandlerDeps } from './handlers/accept.js';

export interface ReceiverOptions {
  probot: Probot;
  deps: HandlerDeps;
  port: number;
  host: string;
}

/** The HTTP server: Probot's webhook endpoint (signature checked) plus the app's routes. */
export async function startReceiver(opts: ReceiverOptions): Promise<Server> {
  const middleware = await createNodeMiddleware(createApp(opts.deps), { probot: opts.probot });
  const server = createServer((req, res) => {
    void middleware(req, res, () => {
      if (req.url === '/healthz') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}
