import { commitUrl } from '../notify/deploy-messages.js';
import { deployMessage, slackLink } from '../notify/slack.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import type { DeployEntry } from '../store/deploy-store.js';

/** Where a service update comes from: a commit (a push or an admin's rollback), or an upstream image. */
export type UpdateOrigin =
  { kind: 'commit'; data: DeployJobData } | { kind: 'upstream'; image: string };

/** The unit and image an update is about, as its messages name them. */
interface Update {
  name: string;
  image: string;
  digest: string;
}

/** A push follows its branch: pins and newer heads hold it back; a rollback and an upstream do not. */
export const followsBranch = (
  origin: UpdateOrigin,
): origin is { kind: 'commit'; data: DeployJobData } =>
  origin.kind === 'commit' && !origin.data.rollback;

/** The history entry written before the update starts. */
export function startedEntry(origin: UpdateOrigin, jobId: string, u: Update): DeployEntry {
  const started = { digest: u.digest, image: u.image, jobId, result: 'deploying' as const };
  if (origin.kind === 'upstream')
    // No commit: `sha` is empty and `repo` names the upstream image.
    return { ...started, sha: '', repo: origin.image, branch: '', startedAt: Date.now() };
  const { data } = origin;
  return {
    ...started,
    sha: data.sha,
    repo: data.repo,
    branch: data.branch,
    startedAt: Date.now(),
    specKey: data.specKey,
    cloneUrl: data.cloneUrl,
    installationId: data.installationId,
    trigger: data.rollback ? { kind: 'rollback', by: data.rollback.by } : { kind: 'push' },
  };
}

/** What an admin is asked to confirm. */
export function confirmText(origin: UpdateOrigin, u: Update): string {
  if (origin.kind === 'upstream') return `update ${u.name} to ${u.image}`;
  const verb = origin.data.rollback ? 'roll back' : 'update';
  return `${verb} ${u.name} to ${origin.data.sha.slice(0, 7)} (${u.digest})`;
}

/** "Deploy <image>@<digest> as <service>: <state>", the deploy message with the image for a commit. */
export function upstreamMessage(m: {
  image: string;
  digest: string;
  service: string;
  state: string;
  logUrl: string;
}): string {
  return `Deploy ${m.image}@${m.digest.slice(0, 19)} as ${m.service}: ${slackLink(m.logUrl, m.state)}`;
}

/** The Slack message of the end of an update that is not a push (a rollback, an upstream image). */
export function endMessage(
  origin: UpdateOrigin,
  u: Update,
  state: 'success' | 'failure',
  logUrl: string,
): string {
  if (origin.kind === 'upstream')
    return upstreamMessage({
      image: origin.image,
      digest: u.digest,
      service: u.name,
      state,
      logUrl,
    });
  const { data } = origin;
  const url = commitUrl(data.cloneUrl, data.sha);
  return deployMessage({ commitUrl: url, sha: data.sha, name: u.name, state, logUrl });
}
