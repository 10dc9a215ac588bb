import type { Octokit } from './check-runs.js';

export interface DeploymentTarget {
  owner: string;
  repo: string;
}

/** GitHub wants a URL; the config's uri is often a bare host[:port]. */
export const environmentUrl = (uri: string | undefined): string | undefined =>
  !uri ? undefined : /^https?:\/\//i.test(uri) ? uri : `https://${uri}`;

/**
 * A GitHub Deployment for one service (environment = service name), marked
 * in_progress. `required_contexts: []` because the commit's own check may still
 * be running; `auto_merge: false` because we deploy the exact commit.
 */
export async function startDeployment(
  octokit: Octokit,
  where: DeploymentTarget,
  d: { sha: string; environment: string; uri?: string; logUrl: string; description: string },
): Promise<number> {
  const { data } = await octokit.rest.repos.createDeployment({
    ...where,
    ref: d.sha,
    environment: d.environment,
    auto_merge: false,
    required_contexts: [],
    transient_environment: false,
    description: d.description,
  });
  if (!('id' in data))
    throw new Error(`GitHub did not create the deployment: ${data.message ?? ''}`);
  await setDeploymentStatus(octokit, where, data.id, 'in_progress', d);
  return data.id;
}

/** success marks the environment's earlier deployments inactive (`auto_inactive`). */
export async function setDeploymentStatus(
  octokit: Octokit,
  where: DeploymentTarget,
  id: number,
  state: 'in_progress' | 'success' | 'failure' | 'error',
  d: { uri?: string; logUrl: string; description: string },
): Promise<void> {
  const url = environmentUrl(d.uri);
  await octokit.rest.repos.createDeploymentStatus({
    ...where,
    deployment_id: id,
    state,
    log_url: d.logUrl,
    description: d.description.slice(0, 140),
    ...(url ? { environment_url: url } : {}),
    ...(state === 'success' ? { auto_inactive: true } : {}),
  });
}
