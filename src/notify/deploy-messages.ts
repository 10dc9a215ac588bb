import type { Logger } from 'pino';
import { jobUrl } from '../plan/check-run-output.js';
import { messageAction, type DeployState, type SavedMessage } from '../plan/deploy-message.js';
import type { SlackMessageStore } from '../store/slack-message-store.js';
import { deployMessage, type SlackOutlet } from './slack.js';

/** One deployment of a commit: `name` is its target tag (or unikernel service). */
export interface DeploymentRef {
  name: string;
  sha: string;
  commitUrl: string;
}

/** Slack messages; Slack being down or refusing is logged and never fails a deploy. */
export interface DeployMessages {
  /** Brings the deployment's one message to `state`, linking the page of the job that got it there. */
  report(ref: DeploymentRef, state: DeployState, jobId: string): Promise<void>;
  /** A message of its own (a rollback, an upstream image), never edited. */
  post(text: string): Promise<void>;
}

export const commitUrl = (cloneUrl: string, sha: string): string =>
  `${cloneUrl.replace(/\.git$/, '')}/commit/${sha}`;

/**
 * One message per deployment of a commit, as the original keys them: posted with
 * its first state and edited as it goes (Web API), or posted again at each change
 * of phase (an incoming webhook cannot edit). Where it is, and what it says, is kept
 * in Redis, so every worker edits the same message.
 */
export function deployMessages(
  outlet: SlackOutlet | undefined,
  store: SlackMessageStore,
  baseUrl: string,
  log: Logger,
): DeployMessages {
  if (!outlet) return { report: async () => undefined, post: async () => undefined };
  const write = async (ref: DeploymentRef, state: DeployState, jobId: string) => {
    const saved = await store.get(ref.name, ref.sha);
    const action = messageAction(saved, state, outlet.canUpdate);
    if (action === 'none') return;
    const text = deployMessage({ ...ref, state: state.label, logUrl: jobUrl(baseUrl, jobId) });
    let where: Pick<SavedMessage, 'channel' | 'ts'> | undefined = saved && {
      channel: saved.channel,
      ts: saved.ts,
    };
    if (action === 'post') where = await outlet.post(text);
    else if (action === 'update' && outlet.canUpdate)
      await outlet.update({ channel: saved!.channel!, ts: saved!.ts! }, text);
    const { label, phase, step } = state;
    await store.save(ref.name, ref.sha, { label, phase, step, ...where });
  };
  return {
    async report(ref, state, jobId) {
      try {
        await store.exclusive(ref.name, ref.sha, () => write(ref, state, jobId));
      } catch (err) {
        log.warn({ err: (err as Error).message, deployment: ref.name }, 'slack message failed');
      }
    },
    async post(text) {
      try {
        await outlet.post(text);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'slack notification failed');
      }
    },
  };
}
