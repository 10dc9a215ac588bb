import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatPath } from './load.js';

/** What `app.yml` says: the App's events and permissions, as GitHub's manifest names them. */
const appYmlSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  hook_attributes: z.looseObject({ active: z.boolean().optional() }).optional(),
  public: z.boolean().optional(),
  default_events: z.array(z.string()).default([]),
  default_permissions: z.record(z.string(), z.enum(['read', 'write', 'admin'])).default({}),
});
export type AppYml = z.infer<typeof appYmlSchema>;

/** GitHub's App manifest, posted as the `manifest` field to `…/settings/apps/new`. */
export interface AppManifest extends AppYml {
  url: string;
  hook_attributes: { url: string; active: boolean };
  redirect_url: string;
  callback_urls: string[];
  public: boolean;
}

export interface ManifestUrls {
  /** The receiver's public address: the web UI's base URL, where webhooks arrive too. */
  publicUrl: string;
  /** Probot's webhook path on the receiver (WEBHOOK_PATH). */
  webhookPath: string;
  /** The web UI's OAuth callback path (sign-in). */
  callbackPath: string;
  /** Where GitHub sends the browser back with `?code=` once the App is registered. */
  redirectUrl: string;
}

export function readAppYml(path: string): AppYml {
  const source = basename(path);
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'), { uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(`${path}: cannot read the App manifest: ${(err as Error).message}`);
  }
  const result = appYmlSchema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${source}: ${formatPath(i.path)}: ${i.message}`);
  throw new ConfigError(lines.join('\n'));
}

/**
 * The manifest for this receiver: `app.yml`'s events, permissions and description,
 * with the addresses (homepage, webhook, sign-in callback) pointing at `publicUrl`.
 * Like Probot, an App is private unless `app.yml` says `public: true`.
 */
export function buildManifest(app: AppYml, urls: ManifestUrls, name = app.name): AppManifest {
  const base = urls.publicUrl.replace(/\/+$/, '');
  return {
    ...app,
    name,
    url: `${base}/`,
    hook_attributes: {
      ...app.hook_attributes,
      url: `${base}${urls.webhookPath}`,
      active: app.hook_attributes?.active ?? true,
    },
    redirect_url: urls.redirectUrl,
    callback_urls: [`${base}${urls.callbackPath}`],
    public: app.public ?? false,
  };
}

export interface GitHubHost {
  /** GHE_HOST; unset for github.com. */
  gheHost?: string;
  /** GHE_PROTOCOL (https). */
  gheProtocol?: string;
}

/**
 * GitHub's "new App from a manifest" page, for a user or an organization (`org`);
 * `state` comes back with the code and proves the redirect answers this page.
 */
export function newAppUrl(host: GitHubHost, state: string, org?: string): string {
  const web = host.gheHost
    ? `${host.gheProtocol || 'https'}://${host.gheHost}`
    : 'https://github.com';
  const owner = org ? `/organizations/${encodeURIComponent(org)}` : '';
  return `${web}${owner}/settings/apps/new?state=${encodeURIComponent(state)}`;
}
