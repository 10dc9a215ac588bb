import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseFlavour } from '../../src/config/load.js';
import type { ArgSource, Flavour, Service } from '../../src/config/schema.js';
import { builtInFlavours, type BuiltInFlavourName } from '../../src/deployers/index.js';

// The built-in flavours against the list of upstream's deployments in
// test/fixtures/upstream/ocurrent-deployer.yml (see its header for how it was made).

const upstreamService = z.strictObject({
  name: z.string(),
  context: z.string(),
  uri: z.string().optional(),
});
const additionalArg = z.union([
  z.strictObject({ arg: z.string(), head_of: z.string(), branch: z.string() }),
  z.strictObject({ arg: z.string(), image: z.string() }),
]);
const notCompared = z.record(z.string(), z.unknown()).optional();
const upstreamFile = z.strictObject({
  source: z.strictObject({
    repository: z.url(),
    commit: z.string().regex(/^[0-9a-f]{40}$/),
    date: z.string(),
    files: z.array(z.string()),
  }),
  push_repo: z.string(),
  flavours: z.record(
    z.string(),
    z.strictObject({
      base_url: z.string(),
      admins: z.array(z.string()),
      docker: z.array(
        z.strictObject({
          repo: z.string(),
          dockerfile: z.string(),
          archs: z.array(z.string()),
          include_git: z.boolean(),
          build_args: z.array(z.string()),
          additional_build_args: z.array(additionalArg).default([]),
          branch: z.string(),
          target: z.string(),
          services: z.array(upstreamService),
          not_compared: notCompared,
        }),
      ),
      unikernels: z.array(
        z.strictObject({
          repo: z.string(),
          dockerfile: z.string(),
          target: z.string(),
          args: z.array(z.string()),
          deployments: z.array(
            z.strictObject({ branch: z.string(), service: z.string(), host: z.string() }),
          ),
        }),
      ),
      upstreams: z.array(
        z.strictObject({
          image: z.string(),
          every_days: z.number(),
          services: z.array(upstreamService),
        }),
      ),
    }),
  ),
});

const upstream = upstreamFile.parse(
  parse(
    readFileSync(join(import.meta.dirname, '../fixtures/upstream/ocurrent-deployer.yml'), 'utf8'),
  ),
);

/** Upstream's `--flavour` name for each built-in flavour. */
const upstreamName: Record<BuiltInFlavourName, string> = {
  tarides: 'tarides',
  'ocaml-org': 'ocaml',
  mirage: 'mirage',
};

type Entries = Map<string, Record<string, unknown>>;

/** Entries by key; a key seen twice is itself a difference. */
function keyed<T>(
  items: T[],
  key: (item: T) => string,
  fields: (item: T) => Record<string, unknown>,
) {
  const entries: Entries = new Map();
  const duplicates: string[] = [];
  for (const item of items) {
    const k = key(item);
    if (entries.has(k)) duplicates.push(k);
    entries.set(k, fields(item));
  }
  return { entries, duplicates };
}

const asUpstreamService = (s: Service) => ({
  name: s.name,
  context: s.context,
  ...(s.uri === undefined ? {} : { uri: s.uri }),
  // Upstream redeploys Swarm services only.
  ...(s.kind === 'swarm' ? {} : { kind: s.kind }),
});

const asUpstreamArg = (a: ArgSource) =>
  'head' in a
    ? { arg: a.arg, head_of: a.head.repo, branch: a.head.branch }
    : { arg: a.arg, image: a.image };

// The target is a field, not part of the key, so a changed tag reads as one difference.
const dockerKey = (e: { repo: string; dockerfile: string; branch: string }) =>
  `${e.repo} ${e.dockerfile} ${e.branch}`;

const unikernelKey = (e: {
  repo: string;
  dockerfile: string;
  target: string;
  branches: string[];
}) => `${e.repo} ${e.dockerfile} unikernel ${e.target} [${e.branches.join(', ')}]`;

/** Every deployment of a flavour's docker builds, in upstream's vocabulary. */
function dockerEntries(flavour: Flavour) {
  const out: Record<string, unknown>[] = [];
  for (const repo of flavour.repos) {
    for (const build of repo.builds) {
      if (build.kind !== 'docker') continue;
      const o = build.options;
      const common = {
        repo: `${repo.owner}/${repo.name}`,
        dockerfile: build.dockerfile,
        archs: build.archs,
        include_git: o.includeGit,
        build_args: [...o.buildArgs, ...o.ulimits.map((u) => `--ulimit ${u}`)],
        additional_build_args: o.argsFrom.map(asUpstreamArg),
        // Upstream always builds the Dockerfile's last stage.
        ...(o.target === null ? {} : { build_stage: o.target }),
      };
      if (build.deployments.length === 0)
        out.push({ ...common, branch: '(none)', target: '(built only)', services: [] });
      for (const d of build.deployments)
        out.push({
          ...common,
          branch: d.branch,
          target: d.target,
          services: d.services.map(asUpstreamService),
        });
    }
  }
  return keyed(out as Parameters<typeof dockerKey>[0][], dockerKey, (e) => e);
}

function unikernelEntries(flavour: Flavour) {
  const out = flavour.repos.flatMap((repo) =>
    repo.builds.flatMap((b) =>
      b.kind === 'unikernel'
        ? [
            {
              repo: `${repo.owner}/${repo.name}`,
              dockerfile: b.dockerfile,
              target: b.target,
              args: b.args,
              deployments: b.deployments,
            },
          ]
        : [],
    ),
  );
  return keyed(
    out,
    (e) => unikernelKey({ ...e, branches: e.deployments.map((d) => d.branch) }),
    (e) => e,
  );
}

/** Every difference between upstream's entries and ours, each naming its entry and field. */
function differences(
  kind: string,
  theirs: ReturnType<typeof keyed>,
  ours: ReturnType<typeof keyed>,
) {
  const out = [
    ...theirs.duplicates.map((k) => `${kind} ${k}: listed twice upstream`),
    ...ours.duplicates.map((k) => `${kind} ${k}: listed twice here`),
  ];
  for (const [key, want] of theirs.entries) {
    const got = ours.entries.get(key);
    if (!got) {
      out.push(`${kind} ${key}: upstream has it, this flavour does not`);
      continue;
    }
    for (const field of new Set([...Object.keys(want), ...Object.keys(got)])) {
      const [w, g] = [JSON.stringify(want[field]), JSON.stringify(got[field])];
      if (w !== g)
        out.push(`${kind} ${key}: ${field} is ${g ?? 'absent'} here, ${w ?? 'absent'} upstream`);
    }
  }
  for (const key of ours.entries.keys())
    if (!theirs.entries.has(key))
      out.push(`${kind} ${key}: this flavour has it, upstream does not`);
  return out;
}

const names = Object.keys(builtInFlavours) as BuiltInFlavourName[];

describe(`built-in flavours against upstream ${upstream.source.commit.slice(0, 7)}`, () => {
  it('covers every upstream flavour', () => {
    expect(names.map((n) => upstreamName[n]).sort()).toEqual(Object.keys(upstream.flavours).sort());
  });

  describe.each(names)('%s', (name) => {
    const ours = parseFlavour(builtInFlavours[name], name);
    const theirs = upstream.flavours[upstreamName[name]]!;

    it('has upstream’s base URL, admins and staging repository', () => {
      expect({ base_url: ours.baseUrl, admins: ours.admins, push_repo: ours.stagingRepo }).toEqual({
        base_url: theirs.base_url,
        admins: theirs.admins,
        push_repo: upstream.push_repo,
      });
    });

    it('deploys what upstream deploys, docker build by docker build', () => {
      const want = keyed(
        theirs.docker,
        dockerKey,
        ({ not_compared: _ignored, ...e }) => e as Record<string, unknown>,
      );
      expect(differences(name, want, dockerEntries(ours))).toEqual([]);
    });

    it('builds and deploys the unikernels upstream does', () => {
      const want = keyed(
        theirs.unikernels,
        (e) => unikernelKey({ ...e, branches: e.deployments.map((d) => d.branch) }),
        (e) => e,
      );
      expect(differences(name, want, unikernelEntries(ours))).toEqual([]);
    });

    it('follows the images upstream follows, on its schedule', () => {
      const want = keyed(
        theirs.upstreams,
        (u) => u.image,
        (u) => u,
      );
      const got = keyed(
        ours.upstreams,
        (u) => u.image,
        (u) => ({
          image: u.image,
          every_days: u.everyDays,
          services: u.services.map(asUpstreamService),
        }),
      );
      expect(differences(name, want, got)).toEqual([]);
    });
  });
});
