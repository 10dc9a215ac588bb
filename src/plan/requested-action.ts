import { z } from 'zod';
import { CHECK_ACTIONS, CHECK_NAME, type CheckAction } from './check-run-output.js';

/** A button pressed on the check run: what, on which commit, by whom. */
export interface RequestedAction {
  action: CheckAction;
  checkRunId: number;
  repo: string;
  sha: string;
  login: string;
}

const payload = z.object({
  check_run: z.object({
    id: z.number().int().positive(),
    name: z.string(),
    head_sha: z.string().regex(/^[0-9a-f]{40}$/),
  }),
  requested_action: z.object({ identifier: z.string() }),
  repository: z.object({ full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/) }),
  sender: z.object({ login: z.string().min(1).max(100) }),
});

/** The action of a `check_run.requested_action` delivery, or why it is ignored. */
export function parseRequestedAction(
  body: unknown,
): { request: RequestedAction } | { ignore: string } {
  const parsed = payload.safeParse(body);
  if (!parsed.success) return { ignore: `malformed requested_action: ${parsed.error.message}` };
  const p = parsed.data;
  if (p.check_run.name !== CHECK_NAME) return { ignore: `not the ${CHECK_NAME} check run` };
  const id = p.requested_action.identifier;
  if (!Object.hasOwn(CHECK_ACTIONS, id)) return { ignore: `unknown action ${id.slice(0, 40)}` };
  return {
    request: {
      action: id as CheckAction,
      checkRunId: p.check_run.id,
      repo: p.repository.full_name,
      sha: p.check_run.head_sha,
      login: p.sender.login,
    },
  };
}
