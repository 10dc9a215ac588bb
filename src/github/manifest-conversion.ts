import { request } from '@octokit/request';
import { z } from 'zod';

/** The new App's settings and secrets, as GitHub returns them once (and only once) for a code. */
const conversionSchema = z.object({
  id: z.number(),
  name: z.string(),
  html_url: z.url(),
  pem: z.string().includes('PRIVATE KEY'),
  webhook_secret: z.string().nullable(),
  client_id: z.string(),
  client_secret: z.string(),
});
export type RegisteredApp = z.infer<typeof conversionSchema>;

/**
 * Completes the manifest flow: `POST /app-manifests/{code}/conversions` (no
 * authentication; the code is valid for an hour) at `apiUrl`, GitHub's REST API or
 * GitHub Enterprise's `/api/v3`.
 */
export async function convertManifest(code: string, apiUrl: string): Promise<RegisteredApp> {
  const { data } = await request('POST /app-manifests/{code}/conversions', {
    code,
    baseUrl: apiUrl,
  });
  return conversionSchema.parse(data);
}
