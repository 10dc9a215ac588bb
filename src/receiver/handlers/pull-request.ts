import type { Delivery } from '../routes.js';
import { parsePullRequest } from '../../plan/commit-event.js';
import { accept, type HandlerDeps } from './accept.js';

export const onPullRequest = (deps: HandlerDeps) => async (context: Delivery<'pull_request'>) =>
  accept(deps, context, parsePullRequest(context.payload));
