import type { Delivery } from '../routes.js';
import { CHECK_NAME } from '../../plan/check-run-output.js';
import { parseRerequest } from '../../plan/commit-event.js';
import { accept, type HandlerDeps } from './accept.js';

/** "Re-run" in GitHub, for one check run or the whole suite. */
export const onRerequest =
  (deps: HandlerDeps) =>
  async (context: Delivery<'check_run.rerequested' | 'check_suite.rerequested'>) =>
    // @octokit/webhooks routes by `${name}.${action}`, so only a string action is the real one.
    accept(
      deps,
      context,
      (context.payload.action as unknown) === 'rerequested'
        ? parseRerequest(context.payload, CHECK_NAME)
        : { ignore: 'not a rerequested action' },
      { rebuild: true },
    );
