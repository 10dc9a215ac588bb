import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// Response bodies as GitHub's own API description (@octokit/openapi) documents them.
const require = createRequire(import.meta.url);

interface Response {
  content?: Record<string, { examples?: Record<string, { value: unknown }> }>;
}
let paths: Record<string, Record<string, { responses: Record<string, Response> }>> | undefined;

/** A copy of the documented example answer of `method template` (e.g. GET /repos/{owner}/{repo}/pulls). */
export function restExample<T = Record<string, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any
  method: string,
  template: string,
  status = '200',
): T {
  paths ??= (
    JSON.parse(
      readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.deref.json'), 'utf8'),
    ) as { paths: NonNullable<typeof paths> }
  ).paths;
  const examples =
    paths[template]?.[method.toLowerCase()]?.responses[status]?.content?.['application/json']
      ?.examples;
  const first = examples && Object.values(examples)[0];
  if (!first) throw new Error(`no documented example for ${method} ${template} ${status}`);
  return structuredClone(first.value) as T;
}
