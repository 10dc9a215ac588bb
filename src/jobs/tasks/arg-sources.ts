import type { BuildSpec, RepoEntry, RepoIndex } from '../../config/repo-index.js';
import type { ArgSource } from '../../config/schema.js';
import type { ArgStore } from '../../store/arg-store.js';
import { isRetryable } from '../errors.js';
import { acceptCommit, type IntakeDeps } from '../intake.js';

/** Where build arguments taken from elsewhere are read. */
export interface ArgResolvers {
  /** The head commit of `repo`'s (`owner/name`) `branch`; undefined when there is no such branch. */
  head(repo: string, branch: string): Promise<string | undefined>;
  /** The digest of `image`'s manifest; undefined when there is no such image. */
  digest(image: string): Promise<string | undefined>;
}

/** A build argument whose value could not be read; names the argument and where it comes from. */
export class ArgSourceError extends Error {
  constructor(
    readonly source: ArgSource,
    reason: string,
    readonly retryable: boolean,
  ) {
    super(`build argument ${source.arg}: cannot read ${describeSource(source)}: ${reason}`);
    this.name = 'ArgSourceError';
  }
}

export const describeSource = (s: ArgSource): string =>
  'head' in s ? `the head of ${s.head.repo} ${s.head.branch}` : `the digest of ${s.image}`;

export const argSourcesOf = (spec: BuildSpec): ArgSource[] =>
  spec.build.kind === 'docker' ? spec.build.options.argsFrom : [];

/** The current value of each source, by argument name. */
export async function resolveArgSources(
  sources: readonly ArgSource[],
  resolvers: ArgResolvers,
): Promise<Record<string, string>> {
  const pairs = await Promise.all(
    sources.map(async (s): Promise<[string, string]> => {
      let value: string | undefined;
      try {
        value =
          'head' in s
            ? await resolvers.head(s.head.repo, s.head.branch)
            : await resolvers.digest(s.image);
      } catch (err) {
        throw new ArgSourceError(
          s,
          err instanceof Error ? err.message : String(err),
          isRetryable(err),
        );
      }
      if (!value)
        throw new ArgSourceError(s, 'head' in s ? 'no such branch' : 'no such image', false);
      return [s.arg, value];
    }),
  );
  return Object.fromEntries(pairs);
}

export interface WatchArgsDeps extends IntakeDeps {
  index: RepoIndex;
  args: ArgStore;
  resolvers: ArgResolvers;
}

/**
 * Reads every build spec's arguments from elsewhere and, where they changed since
 * last stored, rebuilds the spec at its deployment branches' heads (which redeploys
 * them). Values seen for the first time are only stored. Returns what was rebuilt;
 * specs whose arguments cannot be read are skipped and reported in one error at the end.
 */
export async function watchArgSources(deps: WatchArgsDeps): Promise<string[]> {
  const resolvers = once(deps.resolvers);
  // Identical builds in several repositories share a spec key, and so their values.
  const bySpec = new Map<string, { sources: ArgSource[]; uses: [RepoEntry, BuildSpec][] }>();
  for (const entry of deps.index.values()) {
    for (const spec of entry.specs) {
      const sources = argSourcesOf(spec);
      if (!sources.length) continue;
      const group = bySpec.get(spec.key) ?? { sources, uses: [] };
      group.uses.push([entry, spec]);
      bySpec.set(spec.key, group);
    }
  }

  const rebuilt: string[] = [];
  const failed: string[] = [];
  for (const [key, { sources, uses }] of bySpec) {
    let now: Record<string, string>;
    try {
      now = await resolveArgSources(sources, resolvers);
    } catch (err) {
      failed.push(`${uses[0][0].fullName} ${uses[0][1].label}: ${(err as Error).message}`);
      continue;
    }
    const before = await deps.args.values(key);
    if (sameValues(before, now)) continue;
    await deps.args.setValues(key, now);
    if (Object.keys(before).length === 0) continue;
    for (const [entry, spec] of uses) rebuilt.push(...(await rebuildHeads(deps, entry, spec)));
  }
  if (failed.length) throw new Error(`build arguments could not be read: ${failed.join('; ')}`);
  return rebuilt;
}

/** Rebuilds `spec` at the known head of each of its deployment branches. */
async function rebuildHeads(
  deps: IntakeDeps,
  entry: RepoEntry,
  spec: BuildSpec,
): Promise<string[]> {
  const repo = entry.fullName;
  const branches = new Set(
    spec.build.kind === 'docker' ? spec.build.deployments.map((d) => d.branch) : [],
  );
  const heads = await deps.store.heads(repo);
  const done: string[] = [];
  for (const branch of branches) {
    const ref = `refs/heads/${branch}`;
    const sha = heads[ref];
    const meta = sha ? await deps.store.meta(repo, sha) : undefined;
    if (!sha || !meta) continue; // never seen, or forgotten: the next push builds it
    // Rebuilt as this branch's head (a re-run of a branch head is), so the image is staged and deployed from it.
    const commit = {
      owner: entry.repo.owner,
      name: entry.repo.name,
      cloneUrl: meta.cloneUrl,
      sha,
      ref,
      fork: meta.fork,
      installationId: meta.installationId,
    };
    await acceptCommit(deps, { ...entry, specs: [spec] }, commit, { rebuild: true });
    done.push(`${repo}@${branch}:${sha.slice(0, 7)} ${spec.label}`);
  }
  return done;
}

function sameValues(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** Each head and image read at most once per pass, however many specs use it. */
function once(r: ArgResolvers): ArgResolvers {
  const seen = new Map<string, Promise<string | undefined>>();
  const memo = (key: string, read: () => Promise<string | undefined>) => {
    if (!seen.has(key)) seen.set(key, read());
    return seen.get(key)!;
  };
  return {
    head: (repo, branch) => memo(`head ${repo} ${branch}`, () => r.head(repo, branch)),
    digest: (image) => memo(`image ${image}`, () => r.digest(image)),
  };
}
