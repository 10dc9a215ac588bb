import { docker } from '../../src/config/builders.js';
import type { BuildInput, FlavourInput } from '../../src/config/schema.js';

type RepoInput = FlavourInput['repos'][number];
type DockerOptions = NonNullable<Parameters<typeof docker>[1]>;

/** A flavour as tests write it: the harness names it, so no two tests share a namespace. */
export type TestFlavourInput = Omit<FlavourInput, 'name'> & { name?: string };

/** Where a test flavour's check runs and pages link to (nothing listens there). */
export const TEST_BASE_URL = 'http://deployer.test';

/** A flavour for a test: links under TEST_BASE_URL and no repositories unless given. */
export function testFlavour(input: Partial<TestFlavourInput> = {}): TestFlavourInput {
  return { baseUrl: TEST_BASE_URL, repos: [], ...input };
}

/**
 * The repository `owner/name` of a test flavour, building its `Dockerfile` (on the
 * given `archs`, with the given `options` and `deployments`), or else the `builds` listed.
 */
export function testRepo(
  fullName: string,
  opts: (DockerOptions | { builds: BuildInput[] }) & { cloneUrl?: string } = {},
): RepoInput {
  const [owner, name] = fullName.split('/');
  const { cloneUrl, ...build } = opts;
  return {
    owner,
    name,
    ...(cloneUrl ? { cloneUrl } : {}),
    builds: 'builds' in build ? build.builds : [docker('Dockerfile', build)],
  };
}
