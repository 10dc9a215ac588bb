import type { Flavour } from './schema.js';

/**
 * The flavour as served with DEPLOYER_ACCOUNT_ALLOWLIST (the original's
 * `--github-account-allowlist`): only repositories owned by those accounts; the
 * others are left out (`leftOut`, as `owner/name`), as the original served no
 * installation of an account not on its list.
 */
export function allowAccounts(
  flavour: Flavour,
  accounts: readonly string[] | undefined,
): { flavour: Flavour; leftOut: string[] } {
  if (!accounts) return { flavour, leftOut: [] };
  const allowed = new Set(accounts.map((a) => a.toLowerCase()));
  const served = flavour.repos.filter((r) => allowed.has(r.owner.toLowerCase()));
  const leftOut = flavour.repos
    .filter((r) => !served.includes(r))
    .map((r) => `${r.owner}/${r.name}`);
  return { flavour: { ...flavour, repos: served }, leftOut };
}
