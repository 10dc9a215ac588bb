import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  environmentUrl,
  setDeploymentStatus,
  startDeployment,
} from '../../src/github/deployments.js';
import { deployMessage, slackLink } from '../../src/notify/slack.js';
import { githubRequestProblems } from '../helpers/github-spec.js';
import { createTestProbot } from '../helpers/probot.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const LOG_URL = 'https://deploy.example.com/jobs/deploy-0123456789ab-6113728f-0d6e4079e3';
const INSTALLATION = 42;
const where = { owner: 'acme', repo: 'web' };

describe('slackLink / deployMessage', () => {
  it('writes Slack link markup', () => {
    expect(slackLink('https://example.com/a?b=c', 'label')).toBe(
      '<https://example.com/a?b=c|label>',
    );
  });

  it('escapes &, < and > and replaces | in the label, which would end the link early', () => {
    expect(slackLink('https://x.example', 'a <b> | c & d')).toBe(
      '<https://x.example|a &lt;b&gt; ¦ c &amp; d>',
    );
    expect(slackLink('https://x.example', '<!channel>')).toBe(
      '<https://x.example|&lt;!channel&gt;>',
    );
    expect(slackLink('https://x.example/a|b?x=<y>', 'l')).toBe(
      '<https://x.example/a%7Cb?x=&lt;y&gt;|l>',
    );
  });

  it('says which commit went to which service, and how, linking the commit and the log', () => {
    expect(
      deployMessage({
        commitUrl: `https://github.com/acme/web/commit/${SHA}`,
        sha: SHA,
        name: 'web',
        state: 'success',
        logUrl: LOG_URL,
      }),
    ).toBe(
      `Deploy <https://github.com/acme/web/commit/${SHA}|6113728> as web: <${LOG_URL}|success>`,
    );
  });

  it('keeps markup in the state out of the link', () => {
    expect(
      deployMessage({
        commitUrl: 'https://c.example',
        sha: SHA,
        name: 'web',
        state: 'failure <https://evil.example|click> |',
        logUrl: 'https://l.example',
      }),
    ).toBe(
      'Deploy <https://c.example|6113728> as web: <https://l.example|failure &lt;https://evil.example¦click&gt; ¦>',
    );
  });
});

describe('environmentUrl', () => {
  it('turns a bare host[:port] into an https URL', () => {
    expect(environmentUrl('web.example.com')).toBe('https://web.example.com');
    expect(environmentUrl('web.example.com:8443')).toBe('https://web.example.com:8443');
    expect(environmentUrl('10.0.0.5:8080/status')).toBe('https://10.0.0.5:8080/status');
  });

  it('keeps http and https URLs as they are', () => {
    expect(environmentUrl('http://web.example.com:8080/')).toBe('http://web.example.com:8080/');
    expect(environmentUrl('https://web.example.com')).toBe('https://web.example.com');
  });

  it('is undefined without a uri', () => {
    expect(environmentUrl(undefined)).toBeUndefined();
    expect(environmentUrl('')).toBeUndefined();
  });

  it('recognises a scheme in any case', () => {
    expect(environmentUrl('HTTP://web.example.com')).toBe('HTTP://web.example.com');
  });
});

describe('GitHub deployments: the exact requests', () => {
  type Captured = { method: string; path: string; body: unknown };
  const captured: Captured[] = [];
  const unmatched: string[] = [];
  const onNoMatch = (req: { method?: string; path?: string; href?: string }) =>
    unmatched.push(`${req.method} ${req.href ?? req.path}`);
  const token = 'ghs_nockInstallationToken000000000000000';
  const tokenPath = `/app/installations/${INSTALLATION}/access_tokens`;

  beforeAll(() => {
    nock.disableNetConnect();
    nock.emitter.on('no match', onNoMatch);
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    const strays = unmatched.splice(0);
    captured.splice(0);
    nock.cleanAll();
    expect(pending).toEqual([]);
    expect(strays).toEqual([]);
  });
  afterAll(() => {
    nock.emitter.off('no match', onNoMatch);
    nock.enableNetConnect();
  });

  // nock hands an empty body over as ''; GitHub's description calls that no body.
  const capture = (method: string, path: string) => (body: unknown) => {
    captured.push({ method, path, body: body === '' ? undefined : body });
    return true;
  };

  /** A fresh Probot (no cached token) and nock expecting one token request first. */
  function github() {
    const api = nock('https://api.github.com')
      .post(tokenPath, capture('POST', tokenPath))
      .matchHeader('authorization', /^bearer /i)
      .reply(201, {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: { deployments: 'write' },
        repository_selection: 'all',
      });
    return { api, octokit: () => createTestProbot().auth(INSTALLATION) };
  }

  const expectValid = () => {
    for (const c of captured) expect(githubRequestProblems(c.method, c.path, c.body)).toEqual([]);
  };

  it('startDeployment creates the deployment, then marks it in_progress', async () => {
    const { api, octokit } = github();
    const deployments = '/repos/acme/web/deployments';
    const statuses = '/repos/acme/web/deployments/4711/statuses';
    api
      .post(deployments, capture('POST', deployments))
      .matchHeader('authorization', `token ${token}`)
      .reply(201, { id: 4711, sha: SHA, environment: 'web' })
      .post(statuses, capture('POST', statuses))
      .matchHeader('authorization', `token ${token}`)
      .reply(201, { id: 1, state: 'in_progress' });

    const id = await startDeployment(await octokit(), where, {
      sha: SHA,
      environment: 'web',
      uri: 'web.example.com:8443',
      logUrl: LOG_URL,
      description: 'Deploying 6113728 to web',
    });

    expect(id).toBe(4711);
    expect(captured).toEqual([
      { method: 'POST', path: tokenPath, body: undefined },
      {
        method: 'POST',
        path: deployments,
        body: {
          ref: SHA,
          environment: 'web',
          auto_merge: false,
          required_contexts: [],
          transient_environment: false,
          description: 'Deploying 6113728 to web',
        },
      },
      {
        method: 'POST',
        path: statuses,
        body: {
          state: 'in_progress',
          log_url: LOG_URL,
          description: 'Deploying 6113728 to web',
          environment_url: 'https://web.example.com:8443',
        },
      },
    ]);
    expectValid();
  });

  it('startDeployment fails, setting no status, when GitHub answers without a deployment', async () => {
    const { api, octokit } = github();
    const deployments = '/repos/acme/web/deployments';
    api
      .post(deployments, capture('POST', deployments))
      .reply(202, { message: 'Auto-merged main into topic on deployment.' });

    await expect(
      startDeployment(await octokit(), where, {
        sha: SHA,
        environment: 'web',
        logUrl: LOG_URL,
        description: 'Deploying 6113728 to web',
      }),
    ).rejects.toThrow(
      'GitHub did not create the deployment: Auto-merged main into topic on deployment.',
    );
    expect(captured.map((c) => `${c.method} ${c.path}`)).toEqual([
      `POST ${tokenPath}`,
      `POST ${deployments}`,
    ]);
    expectValid();
  });

  it('setDeploymentStatus success: marks earlier deployments inactive, keeps an http URL', async () => {
    const { api, octokit } = github();
    const statuses = '/repos/acme/web/deployments/4711/statuses';
    api.post(statuses, capture('POST', statuses)).reply(201, { id: 2, state: 'success' });

    await setDeploymentStatus(await octokit(), where, 4711, 'success', {
      uri: 'http://web.example.com:8080/',
      logUrl: LOG_URL,
      description: 'Deployed 6113728',
    });

    expect(captured.slice(1)).toEqual([
      {
        method: 'POST',
        path: statuses,
        body: {
          state: 'success',
          log_url: LOG_URL,
          description: 'Deployed 6113728',
          environment_url: 'http://web.example.com:8080/',
          auto_inactive: true,
        },
      },
    ]);
    expectValid();
  });

  it('setDeploymentStatus failure: no URL without a uri, description cut to 140 characters', async () => {
    const { api, octokit } = github();
    const statuses = '/repos/acme/web/deployments/4711/statuses';
    api.post(statuses, capture('POST', statuses)).reply(201, { id: 3, state: 'failure' });
    const description = `Deploy failed: ${'x'.repeat(300)}`;

    await setDeploymentStatus(await octokit(), where, 4711, 'failure', {
      logUrl: LOG_URL,
      description,
    });

    expect(captured.slice(1)).toEqual([
      {
        method: 'POST',
        path: statuses,
        body: { state: 'failure', log_url: LOG_URL, description: description.slice(0, 140) },
      },
    ]);
    expect((captured[1].body as { description: string }).description).toHaveLength(140);
    expectValid();
  });

  it('the validator used above does refuse what GitHub would', () => {
    const statuses = '/repos/acme/web/deployments/4711/statuses';
    expect(githubRequestProblems('POST', statuses, { state: 'running' })).not.toEqual([]);
    expect(
      githubRequestProblems('POST', '/repos/acme/web/deployments', { environment: 'web' }),
    ).not.toEqual([]);
  });
});
