import { describe, expect, it } from 'vitest';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex } from '../../src/config/repo-index.js';
import type { DeployEntry } from '../../src/store/deploy-store.js';
import { refLabel, when } from '../../src/web/format.js';
import { logLines } from '../../src/web/job-page.js';
import { sseEvent } from '../../src/web/log-stream.js';
import { flavourPools } from '../../src/config/repo-index.js';
import { orderRefs } from '../../src/web/overview.js';
import { streamStart } from '../../src/web/routes.js';
import { flavourServices, serviceState } from '../../src/web/services.js';
import { createViews } from '../../src/web/views.js';

const flavour = parseFlavour(
  {
    name: 'demo',
    baseUrl: 'http://x',
    repos: [
      {
        owner: 'acme',
        name: 'web',
        builds: [
          {
            dockerfile: 'Dockerfile',
            archs: ['linux-x86_64', 'linux-arm64'],
            deployments: [
              {
                branch: 'live',
                target: 'acme/web:live',
                services: [{ name: 'web', context: 'prod' }],
              },
              {
                branch: 'staging',
                target: 'acme/web:staging',
                services: [{ name: 'web_staging' }],
              },
            ],
          },
          {
            kind: 'unikernel',
            dockerfile: 'Dockerfile.mirage',
            target: 'hvt',
            deployments: [{ branch: 'live', service: 'www', host: 'vm.example.org' }],
          },
        ],
      },
    ],
    upstreams: [{ image: 'acme/proxy:latest', services: [{ name: 'proxy', context: 'prod' }] }],
  },
  'test',
);

describe('orderRefs', () => {
  it('puts deployment branches first (config order), then PRs newest first, then branches', () => {
    const refs = [
      'refs/heads/zeta',
      'refs/pull/3/head',
      'refs/heads/staging',
      'refs/heads/alpha',
      'refs/pull/12/head',
      'refs/heads/live',
    ];
    expect(orderRefs(refs, ['live', 'staging'])).toEqual([
      { ref: 'refs/heads/live', kind: 'deploy' },
      { ref: 'refs/heads/staging', kind: 'deploy' },
      { ref: 'refs/pull/12/head', kind: 'pr' },
      { ref: 'refs/pull/3/head', kind: 'pr' },
      { ref: 'refs/heads/alpha', kind: 'branch' },
      { ref: 'refs/heads/zeta', kind: 'branch' },
    ]);
  });

  it('labels refs as people name them', () => {
    expect(refLabel('refs/heads/feature/x')).toBe('feature/x');
    expect(refLabel('refs/pull/7/head')).toBe('PR #7');
    expect(refLabel('refs/tags/v1')).toBe('refs/tags/v1');
  });
});

describe('flavourServices', () => {
  it('lists docker services, unikernels and upstream services under their history keys', () => {
    const services = flavourServices(flavour, buildRepoIndex(flavour));
    expect(services.map((s) => [s.key, s.from])).toEqual([
      ['prod/web', 'acme/web live'],
      ['default/web_staging', 'acme/web staging'],
      ['unikernel:vm.example.org/www', 'acme/web live'],
      ['prod/proxy', 'acme/proxy:latest'],
    ]);
  });

  it('knows every pool builds are queued on', () => {
    expect(flavourPools(buildRepoIndex(flavour)).sort()).toEqual(['linux-arm64', 'linux-x86_64']);
  });
});

describe('serviceState', () => {
  const entry = (result: DeployEntry['result'], sha: string): DeployEntry => ({
    sha,
    digest: `sha256:${sha}`,
    image: 'i',
    repo: 'acme/web',
    branch: 'live',
    jobId: `deploy-${sha}`,
    result,
    startedAt: 1,
  });

  it('is never deployed without history', () => {
    expect(serviceState([])).toEqual({ state: 'never deployed', current: undefined });
  });

  it('shows what runs: the newest success or unchanged, whatever came after', () => {
    const ok = entry('unchanged', 'b');
    expect(serviceState([entry('failure', 'c'), ok, entry('success', 'a')])).toEqual({
      state: 'failed',
      current: ok,
    });
    expect(serviceState([entry('deploying', 'd'), ok]).state).toBe('deploying');
    expect(serviceState([ok]).state).toBe('deployed');
    expect(serviceState([entry('failure', 'c')])).toEqual({ state: 'failed', current: undefined });
  });
});

describe('log streaming', () => {
  it('frames a multi-line entry as one event with a data field per line', () => {
    expect(sseEvent({ id: '3', data: 'a\nb\r\nc' })).toBe('id: 3\ndata: a\ndata: b\ndata: c\n\n');
    expect(sseEvent({ event: 'end', data: 'completed' })).toBe('event: end\ndata: completed\n\n');
  });

  it('splits entries into lines', () => {
    expect(logLines(['one\ntwo', 'three'])).toEqual(['one', 'two', 'three']);
  });

  it('resumes after what the page or a reconnecting client already has', () => {
    expect(streamStart('5', undefined)).toBe(5);
    expect(streamStart('5', '9')).toBe(9);
    expect(streamStart(['1', '2'], undefined)).toBe(0);
    expect(streamStart('-1', 'x')).toBe(0);
  });
});

describe('views', () => {
  const render = createViews();

  it('escapes what comes from repositories: branch names, log lines, errors', () => {
    const evil = '<script>alert(1)</script>';
    const html = render('job', {
      flavour: 'demo',
      nonce: 'n',
      job: {
        id: 'build-1',
        kind: 'build',
        title: `Build of ${evil}`,
        repo: 'acme/web',
        sha: 'a'.repeat(40),
        short: 'aaaaaaa',
        ref: `x${evil}`,
        what: 'Dockerfile on linux-x86_64',
        state: 'failed',
        finished: true,
        attempts: '1 of 3',
        failedReason: evil,
        lines: [evil, 'a & b "quoted"'],
        waiting: [{ op: 'deploy', description: evil }],
        cancellable: false,
      },
      viewer: { login: evil, admin: true, canSignIn: true, csrf: evil },
      path: `/jobs/${evil}`,
    });
    expect(html).not.toContain(evil);
    expect(html).toContain('x&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>');
    expect(html).toContain('a &amp; b &quot;quoted&quot;');
    // A finished job needs no script at all.
    expect(html).not.toMatch(/<script/i);
  });

  it('shows admin buttons, with the CSRF token, only to admins', () => {
    const job = {
      id: 'build-1',
      kind: 'build',
      title: 't',
      repo: 'acme/web',
      sha: 's',
      short: 'abc1234',
      ref: 'main',
      what: 'w',
      state: 'delayed',
      finished: false,
      attempts: '1 of 3',
      lines: [],
      waiting: [{ op: 'build', description: 'build it' }],
      cancellable: true,
    };
    const as = (viewer: object) =>
      render('job', { flavour: 'demo', nonce: 'n', job, viewer, path: '/jobs/build-1' });
    const admin = as({ login: 'alice', admin: true, canSignIn: true, csrf: 'tok' });
    expect(admin).toContain('action="/jobs/build-1/confirm"');
    expect(admin).toContain('action="/jobs/build-1/rebuild"');
    expect(admin).toContain('action="/jobs/build-1/cancel"');
    expect(admin).toContain('name="_csrf" value="tok"');
    const viewer = as({ login: 'mallory', admin: false, canSignIn: true, csrf: 'tok2' });
    expect(viewer).not.toMatch(/action="\/jobs\//);
    expect(viewer).toContain('an admin confirms it');
    expect(viewer).toContain('Sign out');
    const anonymous = as({ admin: false, canSignIn: true });
    expect(anonymous).toContain('href="/login?next=%2Fjobs%2Fbuild-1"');
    expect(anonymous).not.toContain('<form');
  });

  it('gives a running job the log tail script, with the nonce', () => {
    const html = render('job', {
      flavour: 'demo',
      nonce: 'abc123',
      job: {
        id: 'build-1',
        kind: 'build',
        title: 't',
        repo: 'acme/web',
        sha: 's',
        short: 's',
        ref: 'main',
        what: 'w',
        state: 'active',
        finished: false,
        attempts: '1 of 3',
        lines: [],
        stream: '/jobs/build-1/log?from=0',
        waiting: [],
        cancellable: true,
      },
    });
    expect(html).toContain('data-stream="/jobs/build-1/log?from=0"');
    expect(html).toContain('<script nonce="abc123">');
    expect(html).toContain("split('\\n')");
  });

  it('formats times relative to now', () => {
    expect(when(1_000, 61_000)).toEqual({ iso: '1970-01-01T00:00:01.000Z', ago: '1 min ago' });
    expect(when(undefined)).toBeUndefined();
  });
});
