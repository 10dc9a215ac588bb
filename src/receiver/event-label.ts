import { emitterEventNames } from '@octokit/webhooks';

/** The names GitHub sends in `X-GitHub-Event` (emitterEventNames also lists `event.action`s). */
const GITHUB_EVENTS: ReadonlySet<string> = new Set(
  emitterEventNames.filter((name) => !name.includes('.')),
);

/**
 * The `event` label of a webhook delivery. Only a delivery signed with the App's secret
 * names its event: anyone can POST any name, and each distinct label value is a series
 * kept in memory for the life of the process.
 */
export function webhookEventLabel(event: string, signed: boolean): string {
  if (!signed) return 'unsigned';
  return GITHUB_EVENTS.has(event) ? event : 'other';
}
