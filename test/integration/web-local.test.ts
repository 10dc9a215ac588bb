import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.js';
import { parseFlavour } from '../../src/config/load.js';
import { startLocal, type RunningLocal } from '../../src/entry/local.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer } from '../helpers/git-server.js';
import { redisUrl, uniqueName, waitFor } from '../helpers/harness.js';
import { testDeploySettings } from '../helpers/swarm.js';

describe('deployer local serves the web UI, with what waits for confirmation', () => {
  let git: GitServer;
  let local: RunningLocal;
  let sha = '';

  beforeAll(async () => {
    git = await new GitServer().start();
    const repo = git.createRepo('acme', 'site');
    repo.write({ Dockerfile: 'FROM scratch\n' });
    sha = repo.commit('first');
    repo.push('live');
    local = await startLocal({
      env: {
        ...readEnv({ REDIS_URL: redisUrl() }),
        prefix: uniqueName('t'),
        workDir: mkdtempSync(join(tmpdir(), 'deployer-local-')),
      },
      flavour: parseFlavour(
        {
          name: 'local-web',
          ...testFlavour({
            repos: [
              testRepo('acme/site', {
                cloneUrl: git.cloneUrl('acme', 'site'),
                deployments: [{ branch: 'live', target: '127.0.0.1:5000/acme/site:live' }],
              }),
            ],
          }),
        },
        'local test',
      ),
      confirm: 'harmless', // the build waits: nothing runs in this test
      deploySettings: testDeploySettings(mkdtempSync(join(tmpdir(), 'deployer-dockercfg-'))),
      pollMs: 1_000,
      log: pino({ level: 'silent' }),
      web: { port: 0, host: '127.0.0.1' },
    });
  });
  afterAll(async () => {
    await local?.close();
    await git?.stop();
  });

  it('lists the polled branch and the build waiting for `deployer confirm`', async () => {
    expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const [gate] = await waitFor('the build to wait', async () => {
      const pending = await local.gates.pending();
      return pending.length ? pending : undefined;
    });
    const html = await (await fetch(`${local.url}/`)).text();
    expect(html).toContain('<h2>Waiting for confirmation</h2>');
    expect(html).toContain(`<a href="/jobs/${gate.jobId}"><code>${gate.jobId}</code></a>`);
    expect(html).toContain(`<code>deployer confirm ${gate.jobId} build</code>`);
    expect(html).toContain('<td>live <span class="tag">deploys</span></td>');
    expect(html).toContain(sha.slice(0, 7));
    const job = await (await fetch(`${local.url}/jobs/${gate.jobId}`)).text();
    expect(job).toMatch(/class="state state-(delayed|active|waiting)">/); // waiting to be confirmed
  });
});
