import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requiredChecks } from '../../src/github/branch-protection.js';
import { installationRepos } from '../../src/github/installation-repos.js';
import { githubRequestProblems } from '../helpers/github-spec.js';
import { createTestProbot } from '../helpers/probot.js';

const API = 'https://api.github.com';
const requested: string[] = [];
const unmatched: string[] = [];
const onNoMatch = (req: { method?: string; path?: string; href?: string }) =>
  unmatched.push(`${req.method} ${req.href ?? req.path}`);
const onRequest = (req: { method?: string; path?: string }) =>
  requested.push(`${req.method} ${req.path}`);

beforeAll(() => {
  nock.disableNetConnect();
  nock.emitter.on('no match', onNoMatch);
});
afterEach(() => {
  const pending = nock.pendingMocks();
  const strays = unmatched.splice(0);
  const paths = requested.splice(0);
  nock.cleanAll();
  expect(pending).toEqual([]);
  expect(strays).toEqual([]);
  // Every request is one GitHub's REST API has (GETs carry no body to check).
  for (const r of paths) {
    const [method, path] = r.split(' ');
    expect(githubRequestProblems(method, path.split('?')[0], undefined)).toEqual([]);
  }
});
afterAll(() => {
  nock.emitter.off('no match', onNoMatch);
  nock.enableNetConnect();
});

/** nock for api.github.com, recording each request it answers. */
const github = () => nock(API).on('request', onRequest);

const link = (path: string, page: number, last: number) =>
  `<${API}${path}?per_page=100&page=${page}>; rel="next", <${API}${path}?per_page=100&page=${last}>; rel="last"`;

const installation = (id: number, suspended = false) => ({
  id,
  account: { login: `org${id}`, id: id * 10, type: 'Organization' },
  app_id: 1,
  target_type: 'Organization',
  repository_selection: 'selected',
  suspended_at: suspended ? '2024-01-01T00:00:00Z' : null,
});

const repository = (owner: string, name: string) => ({
  id: name.length,
  name,
  full_name: `${owner}/${name}`,
  owner: { login: owner, id: 1, type: 'Organization' },
  private: false,
  clone_url: `https://github.com/${owner}/${name}.git`,
});

const token = (id: number) =>
  github()
    .post(`/app/installations/${id}/access_tokens`)
    .reply(201, {
      token: `ghs_token${id}`.padEnd(40, '0'),
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
    });

describe('installationRepos', () => {
  it("lists every repository of every installation, following GitHub's pages", async () => {
    github()
      .get('/app/installations')
      .query({ per_page: '100' })
      .reply(200, [installation(1)], { link: link('/app/installations', 2, 2) })
      .get('/app/installations')
      .query({ per_page: '100', page: '2' })
      .reply(200, [installation(2), installation(3, true)]);
    token(1);
    github()
      .get('/installation/repositories')
      .query({ per_page: '100' })
      .matchHeader('authorization', /ghs_token1/)
      .reply(
        200,
        {
          total_count: 3,
          repository_selection: 'selected',
          repositories: [repository('acme', 'web')],
        },
        { link: link('/installation/repositories', 2, 2) },
      )
      .get('/installation/repositories')
      .query({ per_page: '100', page: '2' })
      .matchHeader('authorization', /ghs_token1/)
      .reply(200, {
        total_count: 3,
        repository_selection: 'selected',
        repositories: [repository('acme', 'api'), repository('acme', 'docs')],
      });
    token(2);
    github()
      .get('/installation/repositories')
      .query({ per_page: '100' })
      .matchHeader('authorization', /ghs_token2/)
      .reply(200, { total_count: 1, repositories: [repository('Other', 'Site')] });

    const probot = createTestProbot();
    const repos = await installationRepos((id) => probot.auth(id));
    expect(repos).toEqual([
      {
        owner: 'acme',
        name: 'web',
        fullName: 'acme/web',
        cloneUrl: 'https://github.com/acme/web.git',
        installationId: 1,
      },
      {
        owner: 'acme',
        name: 'api',
        fullName: 'acme/api',
        cloneUrl: 'https://github.com/acme/api.git',
        installationId: 1,
      },
      {
        owner: 'acme',
        name: 'docs',
        fullName: 'acme/docs',
        cloneUrl: 'https://github.com/acme/docs.git',
        installationId: 1,
      },
      {
        owner: 'Other',
        name: 'Site',
        fullName: 'Other/Site',
        cloneUrl: 'https://github.com/Other/Site.git',
        installationId: 2,
      },
    ]);
    // Two pages of installations, a token and the pages of repositories for each
    // installation that is not suspended.
    expect(requested).toHaveLength(7);
  });

  it('lists nothing when the App is installed nowhere', async () => {
    github().get('/app/installations').query({ per_page: '100' }).reply(200, []);
    const probot = createTestProbot();
    expect(await installationRepos((id) => probot.auth(id))).toEqual([]);
  });
});

describe('requiredChecks', () => {
  const path = '/repos/acme/web/branches/live/protection/required_status_checks';
  const checks = async () => {
    token(42);
    return requiredChecks(await createTestProbot().auth(42), 'acme', 'web', 'live');
  };

  it('reads the required checks with the App that must send each', async () => {
    github()
      .get(path)
      .reply(200, {
        url: `${API}${path}`,
        strict: true,
        contexts: ['deployability', 'ci/build'],
        checks: [
          { context: 'deployability', app_id: 77 },
          { context: 'ci/build', app_id: null },
        ],
        contexts_url: `${API}${path}/contexts`,
      });
    expect(await checks()).toEqual([
      { context: 'deployability', appId: 77 },
      { context: 'ci/build', appId: null },
    ]);
  });

  it('takes the contexts when GitHub names no checks (older Enterprise Server)', async () => {
    github()
      .get(path)
      .reply(200, { url: `${API}${path}`, strict: false, contexts: ['deployability'] });
    expect(await checks()).toEqual([{ context: 'deployability', appId: null }]);
  });

  it('is empty when the branch is not protected or requires no checks (404)', async () => {
    for (const message of ['Branch not protected', 'Required status checks not enabled']) {
      github().get(path).reply(404, {
        message,
        documentation_url:
          'https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection',
      });
      expect(await checks()).toEqual([]);
    }
  });

  it('is undefined when the App may not read branch protection (403)', async () => {
    github().get(path).reply(403, {
      message: 'Resource not accessible by integration',
      documentation_url:
        'https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection',
    });
    expect(await checks()).toBeUndefined();
  });

  it('fails on anything else, so the previous warnings stay', async () => {
    github().get(path).reply(500, { message: 'Server Error' });
    await expect(checks()).rejects.toMatchObject({ status: 500 });
  });
});
