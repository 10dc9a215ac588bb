import { randomBytes } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { DeployerEnv } from '../config/env.js';
import type { RepoIndex } from '../config/repo-index.js';
import type { Flavour } from '../config/schema.js';
import type { Gates } from '../store/gates.js';
import type { Queues } from '../jobs/queues.js';
import type { CommitStore } from '../store/commit-store.js';
import type { DeployStore } from '../store/deploy-store.js';
import type { DriftStore } from '../store/drift-store.js';
import { AdminActions } from '../admin/actions.js';
import { adminRoutes } from './admin-routes.js';
import { GitHubLogin, type LoginSettings } from './github-login.js';
import { findJob } from '../jobs/find-job.js';
import { jobModel } from './job-page.js';
import { queueLogPlace } from '../jobs/job-log-store.js';
import { sendLogText, streamLog, type StreamOptions } from './log-stream.js';
import { overviewModel } from './overview.js';
import { BOARD_PATH, queueBoard } from './queue-board.js';
import { servicesModel } from './services.js';
import { repoAccess } from './repo-access.js';
import { SESSION_MS, sessions } from './session.js';
import { SessionStore } from './session-store.js';
import { StreamSlots } from './stream-slots.js';
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
  /** Sessions' server-side state (generations, admin ids, tokens). */
  redis: Redis;
  env: Pick<DeployerEnv, 'prefix'>;
  /** GitHub sign-in; without it the pages are read-only and public. */
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
  const github = deps.login && new GitHubLogin(deps.login);
  const store = new SessionStore(deps.redis, `${deps.env.prefix}:${deps.flavour.name}`, SESSION_MS);
  const auth = sessions({
    flavour: deps.flavour,
    login: github && deps.login && { github, settings: deps.login, store },
    log: deps.log,
  });
  app.use(auth.router);
  const access = repoAccess({ access: deps.login?.access ?? 'public', auth, github });
  const slots = new StreamSlots();
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
  // The original's job links (`/job/<id>`): ours are `/jobs/<id>`. A redirect shows nothing.
  app.get('/job/:id', (req, res) => {
    const at = req.originalUrl.indexOf('?');
    const query = at < 0 ? '' : req.originalUrl.slice(at);
    res.redirect(301, `/jobs/${encodeURIComponent(String(req.params.id))}${query}`);
  });
  // The original's own job ids (`<date>/<name>`) name jobs it ran, not kept here.
  app.get('/job/:date/:name', (req, res) =>
    page(req, res, 404, 'not-found', { what: 'such job', hint: originalJob }),
  );
  app.get('/style.css', (_req, res) => {
    res.type('css').set('cache-control', 'public, max-age=300').send(STYLE);
  });
  // Pages and logs need what DEPLOYER_UI_ACCESS asks; the POSTs check for an admin themselves.
  app.use((req, res, next) => {
    const entry = req.method === 'GET' || req.method === 'HEAD' ? access.entry(req) : 'ok';
    if (entry === 'ok') return next();
    if (entry === 'admins-only') return page(req, res, 403, 'forbidden', { what: 'this deployer' });
    if (req.method === 'GET' && !req.path.endsWith('/log'))
      return res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
    res.status(401).type('text').send('sign in first\n');
  });
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

  /** What this request may see, as the models' filter: repositories by name, flavour-wide things. */
  const shown = async (req: Request) => {
    const names = await access.readable(
      req,
      [...deps.index.values()].map((e) => e.fullName),
    );
    const all = access.seesAll(req);
    return (repo: string | undefined) => all || (repo !== undefined && names.has(repo));
  };
  /** A job this request may see; one of a repository it cannot read is not there for it. */
  const visibleJob = async (req: Request) => {
    const found = await findJob(deps, String(req.params.id));
    return found && (await access.canRead(req, found.job.data.repo)) ? found : undefined;
  };
  app.get('/', async (req, res) => {
    page(req, res, 200, 'overview', await overviewModel(deps, await shown(req)));
  });
  app.get('/services', async (req, res) => {
    page(req, res, 200, 'services', { services: await servicesModel(deps, await shown(req)) });
  });
  app.get('/jobs/:id', async (req, res) => {
    const found = await visibleJob(req);
    if (!found) page(req, res, 404, 'not-found', { what: 'such job', hint: notKept });
    else page(req, res, 200, 'job', { job: await jobModel(deps, found) });
  });
  app.get('/jobs/:id/log.txt', async (req, res) => {
    const found = await visibleJob(req);
    if (!found) return void res.status(404).type('text').send('no such job\n');
    await sendLogText(queueLogPlace(found.queue, found.job.id!), res);
  });
  app.get('/jobs/:id/log', async (req, res) => {
    const found = await visibleJob(req);
    if (!found) return void res.status(404).type('text').send('no such job\n');
    const release = slots.take(auth.clientKey(req));
    if (!release)
      return void res
        .status(429)
        .type('text')
        .send('too many open log streams; close other job pages\n');
    res.once('close', release);
    const from = streamStart(req.query.from, req.get('last-event-id'));
    const place = queueLogPlace(found.queue, found.job.id!);
    await streamLog(found.queue, place, found.job.id!, from, res, deps.stream);
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
const originalJob = 'this is a job of the original OCurrent deployer, whose logs stayed with it';
