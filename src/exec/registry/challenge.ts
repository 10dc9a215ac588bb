export type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

/** `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(
  header: string | null,
): { challenge: Challenge; scopes: string[] } | undefined {
  if (!header) return undefined;
  const scheme = header.trim().split(/\s+/)[0].toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1].toLowerCase()] = m[2];
  if (scheme === 'basic') return { challenge: { scheme: 'basic' }, scopes: [] };
  if (scheme !== 'bearer' || !params.realm) return undefined;
  return {
    challenge: { scheme: 'bearer', realm: params.realm, service: params.service },
    scopes: params.scope ? params.scope.split(' ') : [],
  };
}
