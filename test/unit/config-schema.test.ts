import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePools, readEnv } from '../../src/config/env.js';
import { resolveFlavour } from '../../src/config/flavour.js';
import { ConfigError, loadFlavourFile, parseFlavour } from '../../src/config/load.js';
import { ARCHS } from '../../src/config/schema.js';

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const fixture = (name: string): string => join(fixtures, name);

const ARCH_LIST = 'linux-x86_64, linux-arm64, linux-ppc64, linux-s390x, linux-riscv64';

/** The ConfigError `fn` throws; any other outcome fails the test. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.name).toBe('ConfigError');
      expect(err.message).not.toContain('    at ');
      return err;
    }
    throw err;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

const messageOf = (fn: () => unknown): string => configError(fn).message;

/** A minimal valid flavour input, to vary one field at a time. */
const base = () => ({
  name: 'demo',
  baseUrl: 'http://localhost:3000',
  repos: [{ owner: 'acme', name: 'web', builds: [{ dockerfile: 'Dockerfile' }] }],
});

const dockerDefaults = {
  kind: 'docker',
  archs: ['linux-x86_64'],
  options: { buildArgs: [], argsFrom: [], includeGit: false, target: null, ulimits: [] },
  deployments: [],
};

const tmp = mkdtempSync(join(tmpdir(), 'deployer-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadFlavourFile', () => {
  it('reads the YAML form and fills in every default', () => {
    expect(loadFlavourFile(fixture('good.yml'))).toEqual({
      name: 'demo',
      baseUrl: 'http://localhost:3000',
      selfBranch: 'live-demo',
      admins: ['github:alice'],
      stagingRepo: '127.0.0.1:5000/staging',
      unikernelHosts: {},
      upstreams: [],
      repos: [
        {
          owner: 'acme',
          name: 'web',
          builds: [
            {
              kind: 'docker',
              dockerfile: 'Dockerfile',
              archs: ['linux-x86_64', 'linux-arm64'],
              options: {
                buildArgs: ['A=1'],
                argsFrom: [],
                includeGit: true,
                target: 'build',
                ulimits: [],
              },
              deployments: [
                {
                  branch: 'live',
                  target: '127.0.0.1:5000/acme/web:live',
                  services: [
                    { name: 'web_app', context: 'testhost', uri: 'web.example.org', kind: 'swarm' },
                    { name: 'web', context: 'default', kind: 'stack', compose: 'deploy/web.yml' },
                  ],
                },
              ],
            },
            { ...dockerDefaults, dockerfile: 'docker/Dockerfile.api' },
            {
              kind: 'unikernel',
              dockerfile: 'Dockerfile',
              target: 'hvt',
              args: ['EXTRA_FLAGS=--tls=true'],
              deployments: [{ branch: 'master', service: 'www', host: 'vmhost' }],
            },
          ],
        },
        { owner: 'acme', name: 'docs', builds: [{ ...dockerDefaults, dockerfile: 'Dockerfile' }] },
      ],
    });
  });

  it('reads the JSON form through the same schema', () => {
    expect(loadFlavourFile(fixture('good.json'))).toEqual({
      name: 'demo-json',
      baseUrl: 'https://deploy.example.org/',
      admins: ['github:bob'],
      stagingRepo: '127.0.0.1:5000/staging',
      unikernelHosts: {},
      upstreams: [],
      repos: [
        {
          owner: 'Acme',
          name: 'api',
          builds: [
            {
              ...dockerDefaults,
              dockerfile: 'Dockerfile',
              deployments: [
                {
                  branch: 'live',
                  target: 'registry.example.org/acme/api:live',
                  services: [
                    {
                      name: 'api_app',
                      context: 'default',
                      kind: 'compose',
                      compose: 'compose.yml',
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
  });

  // The fixture is .txt so that `prettier --check .` does not choke on it; the loader ignores extensions.
  it('refuses malformed YAML, naming the file and the line', () => {
    expect(messageOf(() => loadFlavourFile(fixture('malformed.yml.txt')))).toMatch(
      /^malformed\.yml\.txt: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a \] at line 6, column 1:?$/,
    );
  });

  it('refuses malformed JSON, naming the file and the line', () => {
    const path = join(tmp, 'truncated.json');
    writeFileSync(path, '{"name": "demo", "repos": [\n');
    expect(messageOf(() => loadFlavourFile(path))).toMatch(
      /^truncated\.json: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a \] at line 2, column 1:?$/,
    );
  });

  it('refuses duplicate keys instead of keeping the last one', () => {
    expect(messageOf(() => loadFlavourFile(fixture('duplicate-keys.yml')))).toMatch(
      /^duplicate-keys\.yml: not valid YAML or JSON: Map keys must be unique at line 3, column 1:?$/,
    );
  });

  it('refuses a list at the top level', () => {
    expect(messageOf(() => loadFlavourFile(fixture('top-level-list.yml')))).toBe(
      'top-level-list.yml: expected a mapping with name, baseUrl, repos, …',
    );
  });

  it('refuses an empty file', () => {
    const path = join(tmp, 'empty.yml');
    writeFileSync(path, '');
    expect(messageOf(() => loadFlavourFile(path))).toBe(
      'empty.yml: expected a mapping with name, baseUrl, repos, …',
    );
  });

  it('names a file that does not exist', () => {
    const path = fixture('does-not-exist.yml');
    expect(messageOf(() => loadFlavourFile(path))).toBe(
      `${path}: cannot read the file: ENOENT: no such file or directory, open '${path}'`,
    );
  });

  it('refuses an unknown key at the top level', () => {
    expect(messageOf(() => loadFlavourFile(fixture('unknown-top-key.yml')))).toBe(
      'unknown-top-key.yml: (top level): unknown key "repositories"',
    );
  });

  it('refuses unknown keys deep inside a build', () => {
    expect(messageOf(() => loadFlavourFile(fixture('unknown-build-key.yml')))).toBe(
      [
        'unknown-build-key.yml: repos[0].builds[0].options: unknown key "cache"',
        'unknown-build-key.yml: repos[0].builds[1]: unknown key "cache"',
      ].join('\n'),
    );
  });

  it('reports every wrong type with its path, the expected type and the value', () => {
    expect(messageOf(() => loadFlavourFile(fixture('wrong-types.yml')))).toBe(
      [
        'wrong-types.yml: admins: expected array, got "github:alice"',
        'wrong-types.yml: repos[0].name: expected string, got 42',
        'wrong-types.yml: repos[0].builds[0].options.includeGit: expected boolean, got "yes"',
      ].join('\n'),
    );
  });

  it('refuses an arch that is not a pool name', () => {
    expect(messageOf(() => loadFlavourFile(fixture('bad-arch.yml')))).toBe(
      `bad-arch.yml: repos[0].builds[1].archs[0]: expected one of ${ARCH_LIST}, got "amd64"`,
    );
  });

  it('refuses names that would reach a shell, a path or a tag', () => {
    expect(messageOf(() => loadFlavourFile(fixture('evil-names.yml')))).toBe(
      [
        'evil-names.yml: repos[0].owner: expected a GitHub owner or repository name, got "acme corp"',
        'evil-names.yml: repos[0].builds[0].dockerfile: expected a relative path inside the repository, got "../x"',
        'evil-names.yml: repos[0].builds[0].deployments[0].branch: expected a git branch name, got ".."',
        'evil-names.yml: repos[0].builds[0].deployments[0].services[0].name: expected a Docker service name ([A-Za-z0-9][-A-Za-z0-9_.]*), got "a;rm -rf /"',
      ].join('\n'),
    );
  });

  it('lists every missing required key', () => {
    expect(messageOf(() => loadFlavourFile(fixture('missing-keys.yml')))).toBe(
      [
        'missing-keys.yml: name: required (expected string)',
        'missing-keys.yml: repos[0].name: required (expected string)',
        'missing-keys.yml: repos[0].builds[0].dockerfile: required (expected string)',
      ].join('\n'),
    );
  });

  it('requires a compose file for a stack service', () => {
    expect(messageOf(() => loadFlavourFile(fixture('stack-without-compose.yml')))).toBe(
      'stack-without-compose.yml: repos[0].builds[0].deployments[0].services[0].compose: expected the compose file in the repository (required when kind is stack or compose), got {"name":"web","context":"default","kind":"stack"}',
    );
  });

  it('shortens a 10 MB value in the message', () => {
    const path = join(tmp, 'huge.yml');
    const huge = 'x'.repeat(10 * 1024 * 1024);
    writeFileSync(
      path,
      [
        'name: demo',
        'baseUrl: http://localhost:3000',
        'repos:',
        '  - owner: acme',
        '    name: web',
        '    builds:',
        '      - dockerfile: Dockerfile',
        '        deployments:',
        '          - branch: live',
        '            target: 127.0.0.1:5000/acme/web:live',
        '            services:',
        '              - name: web',
        `                context: ${huge}`,
        '',
      ].join('\n'),
    );
    expect(messageOf(() => loadFlavourFile(path))).toBe(
      `huge.yml: repos[0].builds[0].deployments[0].services[0].context: expected a docker context name, got "${'x'.repeat(56)}…`,
    );
  });
});

describe('parseFlavour', () => {
  it('names the source, the path and the pools for a bad arch', () => {
    const input = base();
    input.repos[0].builds.push({ dockerfile: 'Dockerfile', archs: ['amd64'] } as never);
    expect(messageOf(() => parseFlavour(input, 'demo.yml'))).toBe(
      `demo.yml: repos[0].builds[1].archs[0]: expected one of ${ARCH_LIST}, got "amd64"`,
    );
  });

  it('fills in kind docker, archs, options and an empty deployment list', () => {
    expect(parseFlavour(base(), 'demo.yml')).toEqual({
      name: 'demo',
      baseUrl: 'http://localhost:3000',
      admins: [],
      stagingRepo: '127.0.0.1:5000/staging',
      unikernelHosts: {},
      upstreams: [],
      repos: [
        { owner: 'acme', name: 'web', builds: [{ ...dockerDefaults, dockerfile: 'Dockerfile' }] },
      ],
    });
  });

  it('fills in context default and kind swarm for a service', () => {
    const input = {
      ...base(),
      repos: [
        {
          owner: 'acme',
          name: 'web',
          builds: [
            {
              dockerfile: 'Dockerfile',
              deployments: [{ branch: 'live', target: 'acme/web:live', services: [{ name: 'w' }] }],
            },
          ],
        },
      ],
    };
    const build = parseFlavour(input, 'demo.yml').repos[0].builds[0];
    expect(build.kind === 'docker' && build.deployments[0].services).toEqual([
      { name: 'w', context: 'default', kind: 'swarm' },
    ]);
  });

  it('parses a unikernel build and refuses docker-only keys on it', () => {
    const uni = { kind: 'unikernel', dockerfile: 'Dockerfile', target: 'hvt' };
    expect(
      parseFlavour({ ...base(), repos: [{ owner: 'a', name: 'b', builds: [uni] }] }, 'demo.yml')
        .repos[0].builds,
    ).toEqual([{ ...uni, args: [], deployments: [] }]);
    const withArchs = { ...uni, archs: ['linux-x86_64'] };
    expect(
      messageOf(() =>
        parseFlavour({ ...base(), repos: [{ owner: 'a', name: 'b', builds: [withArchs] }] }, 'm'),
      ),
    ).toBe('m: repos[0].builds[0]: unknown key "archs"');
  });

  it('refuses an unknown build kind', () => {
    const input = { ...base(), repos: [{ owner: 'a', name: 'b', builds: [{ kind: 'vm' }] }] };
    expect(messageOf(() => parseFlavour(input, 'demo.yml'))).toBe(
      'demo.yml: repos[0].builds[0].kind: expected "kind" to be docker or unikernel, got "vm"',
    );
  });

  it('refuses empty lists where one item is needed', () => {
    const input = {
      ...base(),
      repos: [
        { owner: 'a', name: 'b', builds: [] },
        { owner: 'a', name: 'c', builds: [{ dockerfile: 'D', archs: [] }] },
      ],
    };
    expect(messageOf(() => parseFlavour(input, 'demo.yml'))).toBe(
      [
        'demo.yml: repos[0].builds: expected at least 1 item(s)',
        'demo.yml: repos[1].builds[0].archs: expected at least 1 item(s)',
      ].join('\n'),
    );
  });

  it('refuses evil unikernel names, hosts and branches', () => {
    const input = {
      ...base(),
      selfBranch: 'x.lock',
      repos: [
        {
          owner: 'a',
          name: 'b',
          builds: [
            {
              kind: 'unikernel',
              dockerfile: '/etc/passwd',
              target: 'hvt; id',
              deployments: [{ branch: 'a..b', service: '1www', host: 'vm host' }],
            },
          ],
        },
      ],
    };
    expect(messageOf(() => parseFlavour(input, 'u.yml'))).toBe(
      [
        'u.yml: selfBranch: expected a git branch name, got "x.lock"',
        'u.yml: repos[0].builds[0].dockerfile: expected a relative path inside the repository, got "/etc/passwd"',
        'u.yml: repos[0].builds[0].target: expected a MirageOS target such as hvt or xen, got "hvt; id"',
        'u.yml: repos[0].builds[0].deployments[0].branch: expected a git branch name, got "a..b"',
        'u.yml: repos[0].builds[0].deployments[0].service: expected a unikernel name (^[A-Za-z][-0-9A-Za-z_]*$), got "1www"',
        'u.yml: repos[0].builds[0].deployments[0].host: expected an ssh destination, got "vm host"',
      ].join('\n'),
    );
  });

  it('refuses an image reference with upper-case path components', () => {
    expect(messageOf(() => parseFlavour({ ...base(), stagingRepo: 'reg/Acme:x' }, 'd'))).toBe(
      'd: stagingRepo: expected an image reference like registry:5000/org/name:tag, got "reg/Acme:x"',
    );
  });

  it('shortens a huge value', () => {
    const message = messageOf(() => parseFlavour({ ...base(), name: 'a'.repeat(1_000_000) }, 'd'));
    expect(message).toBe(
      `d: name: expected a flavour name (lowercase letters, digits, -), got "${'a'.repeat(56)}…`,
    );
  });

  it('shortens a huge unknown key', () => {
    const message = messageOf(() => parseFlavour({ ...base(), ['k'.repeat(1_000_000)]: 1 }, 'd'));
    expect(message.length).toBeLessThan(200);
  });

  it('says what a base URL should be', () => {
    const message = messageOf(() => parseFlavour({ ...base(), baseUrl: 'not a url' }, 'd'));
    expect(message).not.toContain('expected Invalid URL');
  });

  it('refuses a base URL that is not http or https', () => {
    configError(() => parseFlavour({ ...base(), baseUrl: 'javascript:alert(1)' }, 'd'));
  });
});

describe('readEnv', () => {
  it('has defaults for everything', () => {
    expect(readEnv({})).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      flavourName: 'tarides',
      configFile: undefined,
      pools: ['linux-x86_64'],
      prefix: 'deployer',
      workDir: '/tmp/deployer',
      dockerHost: undefined,
      jobLockMs: 60_000,
      catchUpMs: 300_000,
      scanRefsMs: 3_600_000,
      buildTimeoutMs: 3_000_000,
      buildsPerPool: 1,
      untrustedBuildsPerRepo: 1,
      untrustedBuildNetwork: 'default',
    });
  });

  it('reads every variable and treats empty ones as unset', () => {
    expect(
      readEnv({
        REDIS_URL: 'redis://redis:6379/2',
        DEPLOYER_FLAVOUR: 'mirage',
        DEPLOYER_CONFIG: '',
        DEPLOYER_POOLS: ' linux-arm64 ,linux-x86_64,',
        DEPLOYER_REDIS_PREFIX: 'd2',
        DEPLOYER_WORK_DIR: '/var/lib/deployer',
        DOCKER_HOST: '',
        DEPLOYER_JOB_LOCK_MS: '5000',
        DEPLOYER_CATCH_UP_MS: '60000',
        DEPLOYER_SCAN_REFS_MS: '120000',
        DEPLOYER_CONFIRM: 'average',
        DEPLOYER_CONFIRM_AUTO_RELEASE_MS: '30000',
        DEPLOYER_ACCOUNT_ALLOWLIST: 'Acme, ocurrent',
        DEPLOYER_BUILD_TIMEOUT_MS: '600000',
        DEPLOYER_BUILDS_PER_POOL: '3',
        DEPLOYER_UNTRUSTED_BUILDS_PER_REPO: '2',
        DEPLOYER_UNTRUSTED_BUILD_NETWORK: 'none',
        DEPLOYER_METRICS_PORT: '9464',
      }),
    ).toEqual({
      redisUrl: 'redis://redis:6379/2',
      flavourName: 'mirage',
      configFile: undefined,
      pools: ['linux-arm64', 'linux-x86_64'],
      prefix: 'd2',
      workDir: '/var/lib/deployer',
      dockerHost: undefined,
      jobLockMs: 5_000,
      catchUpMs: 60_000,
      scanRefsMs: 120_000,
      confirm: 'average',
      confirmAutoReleaseMs: 30_000,
      accountAllowlist: ['acme', 'ocurrent'],
      buildTimeoutMs: 600_000,
      buildsPerPool: 3,
      untrustedBuildsPerRepo: 2,
      untrustedBuildNetwork: 'none',
      metricsPort: 9464,
    });
    expect(readEnv({ DEPLOYER_CONFIG: '/etc/d.yml', DOCKER_HOST: 'unix:///d.sock' })).toMatchObject(
      { configFile: '/etc/d.yml', dockerHost: 'unix:///d.sock' },
    );
  });

  it('refuses a network for untrusted builds that the engine cannot give them', () => {
    expect(() => readEnv({ DEPLOYER_UNTRUSTED_BUILD_NETWORK: 'isolated' })).toThrow(
      'DEPLOYER_UNTRUSTED_BUILD_NETWORK: expected "default" or "none", got "isolated"',
    );
  });

  it('refuses a lock time that is not a positive whole number', () => {
    expect(() => readEnv({ DEPLOYER_JOB_LOCK_MS: '1.5s' })).toThrow(
      'DEPLOYER_JOB_LOCK_MS: expected a positive whole number, got "1.5s"',
    );
  });

  it('refuses a metrics port that is no port', () => {
    expect(() => readEnv({ DEPLOYER_METRICS_PORT: '70000' })).toThrow(
      'DEPLOYER_METRICS_PORT: expected a port (1-65535), got "70000"',
    );
    expect(() => readEnv({ DEPLOYER_METRICS_PORT: ':9464' })).toThrow(
      'DEPLOYER_METRICS_PORT: expected a positive whole number, got ":9464"',
    );
  });

  it('refuses a bad pool, naming the variable', () => {
    expect(messageOf(() => readEnv({ DEPLOYER_POOLS: 'linux-x86_64,amd64' }))).toBe(
      `DEPLOYER_POOLS: expected one of ${ARCH_LIST}, got "amd64"`,
    );
  });
});

describe('parsePools', () => {
  it('accepts every pool name', () => {
    expect(parsePools(ARCHS.join(','), 'X')).toEqual([...ARCHS]);
  });

  it('refuses evil and empty pool lists, naming the source', () => {
    expect(messageOf(() => parsePools('linux-x86_64;rm -rf /', '--pools'))).toBe(
      `--pools: expected one of ${ARCH_LIST}, got "linux-x86_64;rm -rf /"`,
    );
    expect(messageOf(() => parsePools(' , ', 'DEPLOYER_POOLS'))).toBe(
      'DEPLOYER_POOLS: expected at least one pool',
    );
  });
});

describe('resolveFlavour', () => {
  it('serves a built-in flavour by name', () => {
    expect(resolveFlavour({ flavourName: 'mirage' }).name).toBe('mirage');
  });

  it('refuses an unknown built-in name, listing the valid ones', () => {
    expect(messageOf(() => resolveFlavour({ flavourName: 'acme' }))).toBe(
      'DEPLOYER_FLAVOUR: expected one of tarides, ocaml-org, mirage, got "acme" (or set DEPLOYER_CONFIG to a file)',
    );
  });

  it('refuses a name inherited from Object.prototype', () => {
    expect(messageOf(() => resolveFlavour({ flavourName: 'toString' }))).toContain(
      'DEPLOYER_FLAVOUR: expected one of tarides, ocaml-org, mirage',
    );
  });

  it('loads DEPLOYER_CONFIG instead of the built-in flavour', () => {
    const flavour = resolveFlavour({ configFile: fixture('good.yml'), flavourName: 'tarides' });
    expect(flavour.name).toBe('demo');
    expect(
      resolveFlavour({ configFile: fixture('good.json'), flavourName: 'no-such-flavour' }).name,
    ).toBe('demo-json');
  });

  it('reports errors of the DEPLOYER_CONFIG file, not of the built-in flavour', () => {
    expect(
      messageOf(() => resolveFlavour({ configFile: fixture('bad-arch.yml'), flavourName: 'x' })),
    ).toBe(`bad-arch.yml: repos[0].builds[1].archs[0]: expected one of ${ARCH_LIST}, got "amd64"`);
  });
});
