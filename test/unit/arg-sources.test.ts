import { describe, expect, it } from 'vitest';
import type { ArgSource } from '../../src/config/schema.js';
import { RegistryError } from '../../src/exec/registry.js';
import {
  ArgSourceError,
  resolveArgSources,
  type ArgResolvers,
} from '../../src/jobs/tasks/arg-sources.js';

const heads: Record<string, string> = {
  'ocaml/opam-repository@master': 'a'.repeat(40),
  'ocaml/opam@master': 'b'.repeat(40),
};
const digests: Record<string, string> = {
  'ocurrent/opam-archive:live': `sha256:${'c'.repeat(64)}`,
};

const fake: ArgResolvers = {
  head: async (repo, branch) => heads[`${repo}@${branch}`],
  digest: async (image) => digests[image],
};

const head = (arg: string, repo: string, branch = 'master'): ArgSource => ({
  arg,
  head: { repo, branch },
});

describe('resolveArgSources', () => {
  it('gives each argument the head commit or image digest it names', async () => {
    const values = await resolveArgSources(
      [
        head('OPAM_REPO_GIT_SHA', 'ocaml/opam-repository'),
        head('OPAM_GIT_SHA', 'ocaml/opam'),
        { arg: 'OPAM_ARCHIVE_SHA', image: 'ocurrent/opam-archive:live' },
      ],
      fake,
    );
    expect(values).toEqual({
      OPAM_REPO_GIT_SHA: 'a'.repeat(40),
      OPAM_GIT_SHA: 'b'.repeat(40),
      OPAM_ARCHIVE_SHA: `sha256:${'c'.repeat(64)}`,
    });
  });

  it('is empty without sources', async () => {
    expect(await resolveArgSources([], fake)).toEqual({});
  });

  it('names the argument and the branch that does not exist; retrying cannot help', async () => {
    const err = await resolveArgSources(
      [head('OPAM_GIT_SHA', 'ocaml/opam'), head('BLOG_GIT_SHA', 'ocaml/platform-blog', 'main')],
      fake,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgSourceError);
    expect((err as ArgSourceError).message).toBe(
      'build argument BLOG_GIT_SHA: cannot read the head of ocaml/platform-blog main: no such branch',
    );
    expect((err as ArgSourceError).retryable).toBe(false);
  });

  it('names a missing image', async () => {
    await expect(
      resolveArgSources([{ arg: 'BASE', image: 'example.org/gone:1' }], fake),
    ).rejects.toThrow(
      'build argument BASE: cannot read the digest of example.org/gone:1: no such image',
    );
  });

  it('names the source when reading it failed, and keeps whether a retry can help', async () => {
    const down: ArgResolvers = {
      head: async () => {
        throw new Error('connect ECONNREFUSED');
      },
      digest: async () => {
        throw new RegistryError('example.org refused the pull (401)', {
          registry: 'example.org',
          method: 'HEAD',
          path: '/v2/x/manifests/1',
          status: 401,
        });
      },
    };
    const byHead = await resolveArgSources([head('LIB_SHA', 'acme/lib')], down).catch(
      (e: unknown) => e as ArgSourceError,
    );
    expect(byHead.message).toBe(
      'build argument LIB_SHA: cannot read the head of acme/lib master: connect ECONNREFUSED',
    );
    expect(byHead.retryable).toBe(true);
    const byImage = await resolveArgSources([{ arg: 'X', image: 'example.org/x:1' }], down).catch(
      (e: unknown) => e as ArgSourceError,
    );
    expect(byImage.message).toContain(
      'build argument X: cannot read the digest of example.org/x:1',
    );
    expect(byImage.retryable).toBe(false);
  });
});
