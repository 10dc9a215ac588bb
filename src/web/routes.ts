import { randomBytes } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { RepoIndex } from '../config/repo-index.js';
import type { Flavour } from '../config/schema.js';
import type { Gates } from '../jobs/gates.js';
import type { Queues } from '../jobs/queues.js';
import type { CommitStore } from '../store/commit-store.js';
import type { DeployStore } from '../store/deploy-store.js';
import type { DriftStore } from '../store/drift-store.js';
import { AdminActions } from '../admin/actions.js';
import { adminRoutes } from './admin-routes.js';
import { GitHubLogin, type LoginSettings } from './github-login.js';
import { findJob } from '../jobs/find-job.js';
import { jobModel } from './job-page.js';
import { streamLog, type StreamOptions } from './log-stream.js';
import { overviewModel } from './overview.js';
import { BOARD_PATH, queueBoard } from './queue-board.js';
import { servicesModel } from './services.js';
import { sessions } from './session.js';
import { STYLE } from './style.js';
import { createViews, type ViewName } from './views.js';

/** What the pages read: the flavour's config, queues and records (a Runtime has them all). */
export interface WebDeps {
  flavour: Flavour;
  index: RepoIndex;
  queues: Queues;
  store: CommitStore;
  deploys: DeployStore;
  /** Operations waiting for an admin (`--confirm`). */
  gates?: Gates;
  /** Warnings of the drift doctor, shown on the overview (absent in local mode). */
  drift?: DriftStore;
  /** GitHub sign-in; without it the pages are read-only. */
  login?: LoginSettings;
  log?: Logger;
  stream?: StreamOptions;
}

type Logger = {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
};

/** Where a log stream starts: after what the page already shows, or what a reconnecting client had. */
export function streamStart(from: unknown, lastEventId: string | undefined): number {
  const n = (v: unknown) => (typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : 0);
  return Math.max(n(from), n(lastEventId));
}

/**
 * The read-only web UI: the overview, job pages with their live logs, and services.
 * Server-rendered; the only script is the job page's log tail, allowed by a nonce.
 */
export function createWebApp(deps: WebDeps): Express {
  const app = express();
  const view = createViews();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.set({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' });
    if (req.path.startsWith(BOARD_PATH)) return next(); // the dashboard brings its own scripts
    const nonce = randomBytes(16).toString('base64');
    res.locals.nonce = nonce;
    res.set(
      'content-security-policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    );
    next();
  });
  app.use(express.urlencoded({ extended: false, limit: '8kb' }));
  const auth = sessions({
    flavour: deps.flavour,
    login: deps.login && { github: new GitHubLogin(deps.login), settings: deps.login },
    log: deps.log,
  });
  app.use(auth.router);
  const page = (
    req: Request,
    res: Response,
    status: number,
    name: ViewName,
    data: object,
  ): void => {
    const html = view(name, {
      ...data,
      flavour: deps.flavour.name,
      nonce: res.locals.nonce,
      viewer: auth.viewer(req),
      path: req.originalUrl,
    });
    res.status(status).type('html').send(html);
  };
  if (deps.gates && deps.log) {
    const actions = new AdminActions({ ...deps, gates: deps.gates, log: deps.log });
    app.use(adminRoutes(actions, auth));
  }
  const board = queueBoard(
    [...deps.queues.allBuildQueues(), deps.queues.checks, deps.queues.deploy, deps.queues.control],
    `${deps.flavour.name} deployer queues`,
  );
  app.use(BOARD_PATH, (req, res, next) => {
    const viewer = auth.viewer(req);
    if (viewer.admin) board(req, res, next);
    else if (!viewer.login && viewer.canSignIn)
      res.redirect(`/login?next=${encodeURIComponent(BOARD_PATH)}`);
    else page(req, res, 403, 'forbidden', { what: 'the queue dashboard' });
  });

  app.get('/style.css', (_req, res) => {
    res.type('css').set('cache-control', 'public, max-age=300').send(STYLE);
  });
  app.get('/', async (req, res) => {
    page(req, res, 200, 'overview', await overviewModel(deps));
  });
  app.get('/services', async (req, res) => {
    page(req, res, 200, 'services', { services: await servicesModel(deps) });
  });
  app.get('/jobs/:id', async (req, res) => {
    const found = await findJob(deps, req.params.id);
    if (!found) page(req, res, 404, 'not-found', { what: 'such job', hint: notKept });
    else page(req, res, 200, 'job', { job: await jobModel(deps, found) });
  });
  app.get('/jobs/:id/log', async (req, res) => {
    const found = await findJob(deps, req.params.id);
    if (!found) return void res.status(404).type('text').send('no such job\n');
    const from = streamStart(req.query.from, req.get('last-event-id'));
    await streamLog(found.queue, found.job.id!, from, res, deps.stream);
  });
  app.use((req, res) => page(req, res, 404, 'not-found', { what: 'such page' }));
  // Express 5 passes rejected promises of the handlers here.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    deps.log?.error({ err }, 'web page failed');
    if (res.headersSent) return void res.end();
    page(req, res, 500, 'error', {});
  });
  return app;
}

const notKept = 'jobs are kept for a week after they finish';
