import type { Probot } from 'probot';
import { gitBaseUrl } from '../config/env.js';
import { lsRemote } from '../exec/git.js';
import { parseImageRef } from '../exec/image-ref.js';
import { RegistryError, type RegistryClient } from '../exec/registry.js';
import type { ArgResolvers } from '../jobs/tasks/arg-sources.js';

const status = (err: unknown) => (err as { status?: number }).status;

/**
 * Branch heads through the installation on the repository, or with anonymous
 * `git ls-remote` where the App is not installed (public repositories); image
 * digests from their registry.
 */
export function argResolvers(
  probot: Probot,
  registry: RegistryClient,
  env: NodeJS.ProcessEnv = process.env,
): ArgResolvers {
  const gitBase = gitBaseUrl(env);
  return {
    async head(repo, branch) {
      const [owner, name] = repo.split('/');
      const app = await probot.auth();
      const installation = await app.rest.apps
        .getRepoInstallation({ owner, repo: name })
        .catch((err: unknown) => {
          if (status(err) === 404) return undefined; // not installed there
          throw err;
        });
      if (installation) {
        const octokit = await probot.auth(installation.data.id);
        try {
          const { data } = await octokit.rest.repos.getBranch({ owner, repo: name, branch });
          return data.commit.sha;
        } catch (err) {
          if (status(err) === 404) return undefined;
          throw err;
        }
      }
      const url = `${gitBase}/${repo}.git`;
      try {
        return await lsRemote(url, `refs/heads/${branch}`);
      } catch (err) {
        throw new Error(
          `the App is not installed on ${repo} and anonymous git ls-remote ${url} failed ` +
            `(${(err as Error).message}): install the App on ${repo} or make it public`,
        );
      }
    },
    async digest(image) {
      try {
        return (await registry.headManifest(parseImageRef(image))).digest;
      } catch (err) {
        if (err instanceof RegistryError && err.status === 404) return undefined;
        throw err;
      }
    },
  };
}
