import type { ApplicationFunction } from 'probot';
import type { HandlerDeps } from './handlers/accept.js';
import { onInstallationChange } from './handlers/installation.js';
import { onPullRequest } from './handlers/pull-request.js';
import { onPush } from './handlers/push.js';
import { onRequestedAction, type ActionDeps } from './handlers/requested-action.js';
import { onRerequest } from './handlers/rerequest.js';

/** The Probot app: routes webhook events to thin handlers, and nothing else. */
export const createApp =
  (deps: HandlerDeps & ActionDeps): ApplicationFunction =>
  (app) => {
    app.on('push', onPush(deps));
    app.on(
      ['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened'],
      onPullRequest(deps),
    );
    app.on(['check_run.rerequested', 'check_suite.rerequested'], onRerequest(deps));
    app.on('check_run.requested_action', onRequestedAction(deps));
    app.on(['installation', 'installation_repositories'], onInstallationChange(deps));
  };
