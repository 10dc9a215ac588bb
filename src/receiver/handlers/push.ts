import type { Delivery } from '../routes.js';
import { parsePush } from '../../plan/commit-event.js';
import { accept, type HandlerDeps } from './accept.js';

const SHA = /^[0-9a-f]{40}$/;

export const onPush = (deps: HandlerDeps) => async (context: Delivery<'push'>) => {
  // Where the branch moved from (all zeros for a new branch): an older push is refused by it.
  const before: unknown = context.payload.before;
  const moved = typeof before === 'string' && SHA.test(before) && !/^0+$/.test(before);
  return accept(deps, context, parsePush(context.payload), moved ? { before } : {});
};
