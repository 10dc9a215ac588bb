import type { EmitterWebhookEventName as EventName, Webhooks } from '@octokit/webhooks';
import type { Logger } from 'pino';
import type { Context } from 'probot';
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

/** Where handlers are registered: Probot's `app.webhooks`, or the receiver's own. */
export interface HookRegistry {
  on: Webhooks['on'];
}

function route<E extends EventName>(
  hooks: HookRegistry,
  log: Logger,
  names: E | E[],
  handler: (delivery: Delivery<NoInfer<E>>) => Promise<unknown>,
): void {
  hooks.on(names, async (event) => {
    await handler({
      ...event,
      log: log.child({ name: 'event', id: event.id }),
    } as unknown as Delivery<E>);
  });
}

/** Routes webhook events to thin handlers, and nothing else. */
export function registerHandlers(
  hooks: HookRegistry,
  log: Logger,
  deps: HandlerDeps & ActionDeps,
): void {
  route(hooks, log, 'push', onPush(deps));
  route(
    hooks,
    log,
    ['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened'],
    onPullRequest(deps),
  );
  route(hooks, log, ['check_run.rerequested', 'check_suite.rerequested'], onRerequest(deps));
  route(hooks, log, 'check_run.requested_action', onRequestedAction(deps));
  route(hooks, log, ['installation', 'installation_repositories'], onInstallationChange(deps));
}
