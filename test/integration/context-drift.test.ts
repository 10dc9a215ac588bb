import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

// The built-in flavours on a machine set up as the original's image set itself up
// (create-config.sh): `check-config` names exactly the docker contexts they use that
// the script does not create. What they use is read from upstream's deployments
// (test/fixtures/upstream/ocurrent-deployer.yml), not from the flavours themselves.

const root = join(import.meta.dirname, '../..');
const fixture = (name: string) =>
  parse(readFileSync(join(root, 'test/fixtures/upstream', name), 'utf8')) as unknown;
const created = (fixture('create-config-contexts.yml') as { ssh_contexts: string[] }).ssh_contexts;
const upstream = fixture('ocurrent-deployer.yml') as {
  flavours: Record<string, { docker: { services: { context: string }[] }[] }>;
};
const UPSTREAM_NAME = { tarides: 'tarides', 'ocaml-org': 'ocaml', mirage: 'mirage' } as const;

const tmp = mkdtempSync(join(tmpdir(), 'context-drift-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A DOCKER_CONFIG with these contexts, made by the docker CLI as create-config.sh does. */
function dockerConfig(contexts: string[]): string {
  const dir = mkdtempSync(join(tmp, 'docker-'));
  for (const name of contexts)
    execFileSync('docker', ['context', 'create', name, '--docker', `host=ssh://root@${name}`], {
      env: { ...process.env, DOCKER_CONFIG: dir, DOCKER_HOST: '', DOCKER_CONTEXT: '' },
      stdio: 'ignore',
    });
  return dir;
}

/** The contexts `check-config` says this machine lacks for a built-in flavour. */
function missingContexts(flavour: string, dockerConfigDir: string): string[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/entry/cli.ts', 'check-config'], {
    cwd: root,
    env: {
      ...process.env,
      DEPLOYER_CONFIG: '',
      DEPLOYER_FLAVOUR: flavour,
      DOCKER_CONFIG: dockerConfigDir,
    },
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  const named = [...r.stderr.matchAll(/docker context "([^"]+)" not found/g)].map((m) => m[1]);
  return [...new Set(named)].sort();
}

/** What upstream deploys this flavour to, less what create-config.sh creates. */
function expectedDrift(flavour: keyof typeof UPSTREAM_NAME, createdHere: string[]): string[] {
  const used = upstream.flavours[UPSTREAM_NAME[flavour]].docker.flatMap((d) =>
    d.services.map((s) => s.context.trim()),
  );
  return [...new Set(used)].filter((c) => c !== 'default' && !createdHere.includes(c)).sort();
}

describe('docker contexts of the built-in flavours against create-config.sh', () => {
  const asTheOriginal = dockerConfig(created);

  it.each(Object.keys(UPSTREAM_NAME) as (keyof typeof UPSTREAM_NAME)[])(
    '%s needs exactly the contexts create-config.sh would not create',
    (flavour) => {
      expect(missingContexts(flavour, asTheOriginal)).toEqual(expectedDrift(flavour, created));
    },
  );

  it('names a context the script would create once it is missing here', () => {
    const without = created.filter((c) => c !== 'chives.caelum.ci.dev');
    const missing = missingContexts('tarides', dockerConfig(without));
    expect(missing).toEqual(expectedDrift('tarides', without));
    expect(missing).toContain('chives.caelum.ci.dev');
  });
});
