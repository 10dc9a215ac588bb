import type { DriftWarning } from './warnings.js';

/**
 * Repositories the flavour watches that no installation of the App can see, and
 * repositories the App can see that the flavour does not watch. Names compare
 * case-insensitively, as GitHub's do.
 */
export function repoDrift(
  configured: readonly string[],
  visible: readonly string[],
  flavour: string,
): DriftWarning[] {
  const seen = new Set(visible.map((r) => r.toLowerCase()));
  const watched = new Set(configured.map((r) => r.toLowerCase()));
  const missing = configured
    .filter((repo) => !seen.has(repo.toLowerCase()))
    .map((repo): DriftWarning => ({
      kind: 'not-installed',
      subject: repo,
      message: `nothing will be deployed from ${repo}: the App is not installed on it`,
    }));
  const extra = visible
    .filter((repo) => !watched.has(repo.toLowerCase()))
    .map((repo): DriftWarning => ({
      kind: 'not-configured',
      subject: repo,
      message: `the App is installed on ${repo}, which flavour "${flavour}" does not watch: add it to the config or remove it from the installation`,
    }));
  return [...missing, ...extra];
}
