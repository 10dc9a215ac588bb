import type { ApplicationFunction } from 'probot';
import type { HandlerDeps } from './receiver/handlers/accept.js';
import type { ActionDeps } from './receiver/handlers/requested-action.js';
import { registerHandlers } from './receiver/routes.js';

/** The handlers as a Probot app (the Lambda entry loads it through Probot's adapter). */
export const createApp =
  (deps: HandlerDeps & ActionDeps): ApplicationFunction =>
  (app) =>
    registerHandlers(app.webhooks, app.log, deps);
