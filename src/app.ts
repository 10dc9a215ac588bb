import type { EmitterWebhookEventName as EventName } from '@octokit/webhooks';
import type { ApplicationFunction, Context, Probot } from 'probot';
import type { HandlerDeps } from './handlers/accept.js';
import { onInstallationChange } from './handlers/installation.js';
import { onPullRequest } from './handlers/pull-request.js';
import { onPush } from './handlers/push.js';
import { onRequestedAction, type ActionDeps } from './handlers/requested-action.js';
import { onRerequest } from './handlers/rerequest.js';

/**
 * What a handler reads of a delivery: Probot's context without its installation
 * client, which no handler uses (work that calls GitHub runs in a worker), and
 * which Probot would otherwise build for every delivery on the request path.
 */
export type Delivery<E extends EventName> = Pick<Context<E>, 'id' | 'name' | 'payload' | 'log'>;

function route<E extends EventName>(
  app: Probot,
  names: E | E[],
  handler: (delivery: Delivery<NoInfer<E>>) => Promise<unknown>,
): void {
  app.webhooks.on(names, async (event) => {
    const log = app.log.child({ name: 'event', id: event.id });
    await handler({ ...event, log } as unknown as Delivery<E>);
  });
}

/** The Probot app: routes webhook events to thin handlers, and nothing else. */
export const createApp =
  (deps: HandlerDeps & ActionDeps): ApplicationFunction =>
  (app) => {
    route(app, 'push', onPush(deps));
    route(
      app,
      ['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened'],
      onPullRequest(deps),
    );
    route(app, ['check_run.rerequested', 'check_suite.rerequested'], onRerequest(deps));
    route(app, 'check_run.requested_action', onRequestedAction(deps));
    route(app, ['installation', 'installation_repositories'], onInstallationChange(deps));
  };
