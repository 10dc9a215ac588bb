import { describe, expect, it } from 'vitest';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex } from '../../src/config/repo-index.js';
import type { DockerBuild, Flavour } from '../../src/config/schema.js';
import { builtInFlavours, type BuiltInFlavourName } from '../../src/deployers/index.js';

const names = Object.keys(builtInFlavours) as BuiltInFlavourName[];

function parsed(name: BuiltInFlavourName): Flavour {
  return parseFlavour(builtInFlavours[name], name);
}

interface Found {
  name: string;
  repo: string;
  dockerfile: string;
  archs: string[];
  includeGit: boolean;
  ulimits: string[];
  branch: string;
  target: string;
  context: string;
  uri: string | undefined;
}

/** Every (deployment target, service name) pair of a flavour's docker builds. */
function services(flavour: Flavour): Found[] {
  const out: Found[] = [];
  for (const repo of flavour.repos) {
    for (const build of repo.builds) {
      if (build.kind !== 'docker') continue;
      for (const d of build.deployments) {
        for (const s of d.services) {
          out.push({
            name: s.name,
            repo: `${repo.owner}/${repo.name}`,
            dockerfile: build.dockerfile,
            archs: build.archs,
            includeGit: build.options.includeGit,
            ulimits: build.options.ulimits,
            branch: d.branch,
            target: d.target,
            context: s.context,
            uri: s.uri,
          });
        }
      }
    }
  }
  return out;
}

function serviceAt(flavour: Flavour, target: string, name: string): Found {
  const found = services(flavour).find((s) => s.target === target && s.name === name);
  if (!found) throw new Error(`no service ${name} for ${target}`);
  return found;
}

function serviceNames(flavour: Flavour, target: string): string[] {
  return services(flavour)
    .filter((s) => s.target === target)
    .map((s) => s.name);
}

function deploymentOf(flavour: Flavour, target: string): { build: DockerBuild; branch: string } {
  for (const repo of flavour.repos) {
    for (const build of repo.builds) {
      if (build.kind !== 'docker') continue;
      const d = build.deployments.find((x) => x.target === target);
      if (d) return { build, branch: d.branch };
    }
  }
  throw new Error(`no deployment to ${target}`);
}

describe('built-in flavours', () => {
  it.each(names)('%s passes the schema', (name) => {
    const f = parsed(name);
    expect(f.name).toBe(name);
    expect(f.stagingRepo).toBe('ocurrentbuilder/staging');
    expect(f.repos.length).toBeGreaterThan(0);
  });

  it('carry the base URL, self branch and admins of the original', () => {
    const tarides = parsed('tarides');
    const ocamlOrg = parsed('ocaml-org');
    const mirage = parsed('mirage');
    expect(tarides.baseUrl).toBe('https://deploy.ci.dev/');
    expect(ocamlOrg.baseUrl).toBe('https://deploy.ci.ocaml.org');
    expect(mirage.baseUrl).toBe('https://deploy.mirageos.org/');
    expect([tarides.selfBranch, ocamlOrg.selfBranch, mirage.selfBranch]).toEqual([
      'live-ci3',
      'live-ocaml-org',
      'live-mirage',
    ]);
    expect(tarides.admins).toContain('github:MisterDA');
    expect(ocamlOrg.admins).toContain('github:AltGr');
    expect(ocamlOrg.admins).toContain('github:rjbou');
    expect(ocamlOrg.admins).toContain('github:maiste');
    expect(mirage.admins).toContain('github:hannesm');
    expect(tarides.admins).not.toContain('github:hannesm');
  });

  it('each self branch is deployed from ocurrent/ocurrent-deployer', () => {
    for (const name of names) {
      const f = parsed(name);
      const deployer = f.repos.find(
        (r) => r.owner === 'ocurrent' && r.name === 'ocurrent-deployer',
      );
      const branches = deployer?.builds.flatMap((b) => b.deployments.map((d) => d.branch));
      expect(branches).toEqual([f.selfBranch]);
    }
  });
});

describe('tarides', () => {
  const f = parsed('tarides');

  it('deploys ocaml-ci to ocaml.ci.dev on x86_64 and arm64', () => {
    const ci = serviceAt(f, 'ocurrent/ocaml-ci-service:live', 'ocaml-ci_ci');
    expect(ci).toMatchObject({
      repo: 'ocurrent/ocaml-ci',
      dockerfile: 'Dockerfile',
      branch: 'live-engine',
      context: 'ocaml.ci.dev',
      uri: 'ocaml.ci.dev:8100',
      archs: ['linux-x86_64', 'linux-arm64'],
      includeGit: true,
    });
    const gitlab = serviceAt(f, 'ocurrent/ocaml-ci-gitlab-service:live', 'ocaml-ci_gitlab');
    expect(gitlab).toMatchObject({
      dockerfile: 'Dockerfile.gitlab',
      branch: 'live-engine',
      includeGit: false,
    });
    expect(serviceNames(f, 'ocurrent/ocaml-ci-web:live')).toEqual(['ocaml-ci_web']);
  });

  it('deploys itself and sandmark to chives.caelum.ci.dev', () => {
    expect(
      serviceAt(f, 'ocurrent/ci.ocamllabs.io-deployer:live-ci3', 'infra_tarides-deployer'),
    ).toMatchObject({
      branch: 'live-ci3',
      context: 'chives.caelum.ci.dev',
      uri: 'deploy.ci.dev',
    });
    expect(serviceAt(f, 'ocurrent/sandmark-nightly:live', 'infra_sandmark')).toMatchObject({
      repo: 'ocaml-bench/sandmark-nightly',
      branch: 'main',
      context: 'chives.caelum.ci.dev',
      includeGit: true,
      uri: 'sandmark.tarides.com',
    });
  });

  it('no longer deploys multicore-ci, multicoretests-ci or the ocurrent.org watcher', () => {
    const repos = f.repos.map((r) => `${r.owner}/${r.name}`);
    expect(repos).not.toContain('ocurrent/ocaml-multicore-ci');
    expect(repos).not.toContain('ocurrent/multicoretests-ci');
    expect(repos).not.toContain('ocurrent/ocurrent.org');
  });

  it('builds the ocluster worker on every pool with a large stack', () => {
    const { build, branch } = deploymentOf(f, 'ocurrent/ocluster-worker:live');
    expect(branch).toBe('live-worker');
    expect(build.dockerfile).toBe('Dockerfile.worker');
    expect(build.archs).toEqual([
      'linux-x86_64',
      'linux-arm64',
      'linux-ppc64',
      'linux-s390x',
      'linux-riscv64',
    ]);
    expect(build.options).toMatchObject({
      includeGit: true,
      ulimits: ['stack=1000000000:1000000000'],
    });
    expect(build.deployments[0]?.services).toEqual([]);
    const observer = deploymentOf(f, 'ocurrent/ocurrent-observer:live');
    expect(observer.build.archs).toEqual(['linux-riscv64']);
  });
});

describe('ocaml-org', () => {
  const f = parsed('ocaml-org');

  it('deploys ocaml.org main as two instances on v3b and staging to v3c', () => {
    expect(serviceNames(f, 'ocurrent/v3.ocaml.org-server:live')).toEqual([
      'infra_www1',
      'infra_www2',
    ]);
    expect(serviceAt(f, 'ocurrent/v3.ocaml.org-server:live', 'infra_www2')).toMatchObject({
      repo: 'ocaml/ocaml.org',
      branch: 'main',
      context: 'v3b.ocaml.org',
      uri: 'ocaml.org',
      includeGit: true,
      archs: ['linux-x86_64'],
    });
    expect(serviceAt(f, 'ocurrent/v3.ocaml.org-server:staging', 'infra_www')).toMatchObject({
      branch: 'staging',
      context: 'v3c.ocaml.org',
      includeGit: true,
    });
  });

  it('deploys opam-repo-ci and docs-ci to their hosts', () => {
    expect(
      serviceAt(f, 'ocurrent/opam-repo-ci-web:live', 'opam-repo-ci_opam-repo-ci-web'),
    ).toMatchObject({
      dockerfile: 'Dockerfile.web',
      branch: 'live-web',
      context: 'opam.ci.ocaml.org',
      archs: ['linux-x86_64', 'linux-arm64'],
    });
    expect(
      serviceAt(f, 'ocurrent/docs-ci-storage-server:staging', 'infra_storage-server'),
    ).toMatchObject({
      dockerfile: 'docker/storage/Dockerfile',
      branch: 'staging',
      context: 'staging.docs.ci.ocamllabs.io',
    });
    expect(serviceAt(f, 'ocurrent/base-images:live', 'infra_base-images')).toMatchObject({
      context: 'chives.caelum.ci.dev',
      uri: 'images.ci.ocaml.org',
    });
  });

  it('serves opam2web from both opam.ocaml.org machines, rebuilt when the opam archive moves', () => {
    const { build, branch } = deploymentOf(f, 'ocurrent/opam.ocaml.org:live');
    expect(branch).toBe('live');
    expect(build.deployments.map((d) => [d.branch, d.target])).toEqual([
      ['live', 'ocurrent/opam.ocaml.org:live'],
      ['live-staging', 'ocurrent/opam.ocaml.org:staging'],
    ]);
    expect(build.deployments[0]?.services.map((s) => [s.name, s.context, s.uri])).toEqual([
      ['infra_opam_live', 'opam-4.ocaml.org', 'opam.ocaml.org'],
      ['infra_opam_live', 'opam-5.ocaml.org', 'staging.opam.ocaml.org'],
    ]);
    expect(build.deployments[1]?.services.map((s) => [s.name, s.context])).toEqual([
      ['infra_opam_staging', 'opam-4.ocaml.org'],
      ['infra_opam_staging', 'opam-5.ocaml.org'],
    ]);
    expect(build.options.argsFrom.at(-1)).toEqual({
      arg: 'OPAM_ARCHIVE_SHA',
      image: 'ocaml/opam:archive',
    });
  });

  it('deploys the dune binary distribution previews, main and staging', () => {
    expect(serviceAt(f, 'ocurrent/dune-binary-distribution:live', 'infra_www')).toMatchObject({
      repo: 'ocaml-dune/binary-distribution',
      branch: 'main',
      context: 'get.dune.build',
      uri: 'preview.dune.build',
    });
    expect(
      serviceAt(f, 'ocurrent/dune-binary-distribution:staging', 'infra_staging'),
    ).toMatchObject({
      branch: 'staging',
      context: 'get.dune.build',
      uri: 'staging-preview.dune.build',
    });
  });

  it('runs four opam-health-check services from one image', () => {
    expect(serviceNames(f, 'ocurrent/opam-health-check:live')).toEqual([
      'infra_opam-health-check',
      'infra_opam-health-check-windows',
      'infra_opam-health-check-dune',
      'infra_opam-health-check-freebsd',
    ]);
  });
});

describe('mirage', () => {
  const f = parsed('mirage');

  it('builds mirage-www unikernels and deploys hvt to the VM host', () => {
    const www = f.repos.find((r) => r.owner === 'mirage' && r.name === 'mirage-www');
    const builds = www?.builds ?? [];
    expect(builds.map((b) => (b.kind === 'unikernel' ? b.target : b.kind))).toEqual([
      'hvt',
      'xen',
      'hvt',
    ]);
    const deployments = builds.flatMap((b) => (b.kind === 'unikernel' ? b.deployments : []));
    expect(deployments).toEqual([
      { branch: 'master', service: 'www', host: 'root@147.75.84.37' },
      { branch: 'next', service: 'next', host: 'root@147.75.84.37' },
    ]);
    const first = builds[0];
    expect(first?.kind === 'unikernel' && first.args).toEqual([
      'EXTRA_FLAGS=--tls=true --metrics --separate-networks',
    ]);
  });

  it('deploys mirage-ci and the deployer to chives.caelum.ci.dev', () => {
    expect(serviceAt(f, 'ocurrent/mirage-ci:live', 'infra_mirage-ci')).toMatchObject({
      branch: 'live',
      context: 'chives.caelum.ci.dev',
      includeGit: true,
      uri: 'ci.mirageos.org',
    });
    expect(
      serviceAt(f, 'ocurrent/deploy.mirageos.org:live', 'infra_mirage-deployer'),
    ).toMatchObject({
      branch: 'live-mirage',
      context: 'chives.caelum.ci.dev',
      includeGit: false,
      uri: 'deploy.mirageos.org',
    });
    expect(f.repos.map((r) => r.name)).not.toContain('caddy-rfc2136');
  });
});

describe('repository index of the built-in flavours', () => {
  it('finds ocurrent/ocaml-ci with its three builds', () => {
    const index = buildRepoIndex(parsed('tarides'));
    const entry = index.get('ocurrent/ocaml-ci');
    expect(entry?.fullName).toBe('ocurrent/ocaml-ci');
    expect(entry?.specs.map((s) => s.label)).toEqual([
      'Dockerfile',
      'Dockerfile.gitlab',
      'Dockerfile.web',
    ]);
    const web = entry?.specs[2]?.build;
    expect(web?.kind === 'docker' && web.deployments.map((d) => d.branch)).toEqual(['live-www']);
    expect(index.get('OCurrent/OCaml-CI')).toBeUndefined();
  });

  it('merges identical builds so each is built once per commit', () => {
    const solver = buildRepoIndex(parsed('tarides')).get('ocurrent/solver-service');
    expect(solver?.specs).toHaveLength(1);
    const build = solver?.specs[0]?.build;
    expect(build?.kind === 'docker' && build.deployments.map((d) => d.branch)).toEqual([
      'live',
      'staging',
    ]);

    const www = buildRepoIndex(parsed('mirage')).get('mirage/mirage-www');
    expect(www?.specs.map((s) => s.label)).toEqual([
      'Dockerfile (unikernel hvt)',
      'Dockerfile (unikernel xen)',
    ]);

    const docs = buildRepoIndex(parsed('ocaml-org')).get('ocurrent/ocaml-docs-ci');
    expect(docs?.specs).toHaveLength(3);

    const dune = buildRepoIndex(parsed('ocaml-org')).get('ocaml-dune/binary-distribution');
    const duneBuild = dune?.specs[0]?.build;
    expect(dune?.specs).toHaveLength(1);
    expect(duneBuild?.kind === 'docker' && duneBuild.deployments.map((d) => d.branch)).toEqual([
      'main',
      'staging',
    ]);
  });
});
