import type { Context } from 'probot';
import { parsePush } from '../plan/commit-event.js';
import { accept, type HandlerDeps } from './accept.js';

export const onPush = (deps: HandlerDeps) => async (context: Context<'push'>) =>
  accept(deps, context, parsePush(context.payload));
