import type { Probot } from 'probot';

const REUSE_MS = 50 * 60_000; // tokens live an hour; leave room for a long fetch

/**
 * Tokens for `git fetch`, made through the REST API so they come from the same
 * host as every other request (GitHub Enterprise included), cached per installation.
 */
export function installationTokens(probot: Probot): (installationId: number) => Promise<string> {
  const cache = new Map<number, { token: string; until: number }>();
  return async (installationId) => {
    const hit = cache.get(installationId);
    if (hit && hit.until > Date.now()) return hit.token;
    const app = await probot.auth();
    const { data } = await app.rest.apps.createInstallationAccessToken({
      installation_id: installationId,
    });
    const until = Math.min(Date.now() + REUSE_MS, Date.parse(data.expires_at) - 5 * 60_000);
    cache.set(installationId, { token: data.token, until });
    return data.token;
  };
}
