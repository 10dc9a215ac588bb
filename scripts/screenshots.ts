// Screenshots of the web UI for the README, taken by hand after a change to the pages:
//
//   eval "$(bash scripts/services.sh env)" && npx tsx scripts/screenshots.ts
//
// A whole deployer (receiver + worker, GitHub stood in for) builds a few commits for
// real, deploys one to a Swarm service on the local engine, and Debian's chromium
// photographs the overview, a job page and the services page into docs/screenshots/.
import { mkdirSync } from 'node:fs';
import { launchChromium } from '../test/helpers/chromium.js';
import { GitServer } from '../test/helpers/git-server.js';
import { startHarness, uniqueName, waitFor } from '../test/helpers/harness.js';
import { pullRequestPayload, pushPayload } from '../test/helpers/payloads.js';
import {
  busybox,
  createService,
  docker,
  dockerConfigWithContext,
  pushInitialImage,
  REGISTRY,
  testDeploySettings,
} from '../test/helpers/swarm.js';

const OUT = 'docs/screenshots';
const id = uniqueName('shots').toLowerCase();
const service = 'website_live';
const dockerfile = (run: string) =>
  'FROM scratch\nCOPY busybox /bin/busybox\n' +
  `RUN ["/bin/busybox", "sh", "-c", ${JSON.stringify(`echo ${id}; ${run}`)}]\n` +
  'CMD ["/bin/busybox", "sleep", "3600"]\n';

const git = await new GitServer().start();
const repo = git.createRepo('acme', 'website');
const where = { owner: 'acme', name: 'website', cloneUrl: git.cloneUrl('acme', 'website') };
try {
  docker('service', 'rm', service);
} catch {
  // not there
}
createService(service, pushInitialImage(`acme/${id}-initial`));
const h = await startHarness(
  {
    name: 'tarides',
    baseUrl: 'replaced by the harness',
    admins: ['github:alice'],
    stagingRepo: `${REGISTRY}/staging-${id}`,
    repos: [
      {
        owner: 'acme',
        name: 'website',
        builds: [
          {
            dockerfile: 'Dockerfile',
            deployments: [
              {
                branch: 'live',
                target: `${REGISTRY}/acme/${id}:live`,
                services: [{ name: service }],
              },
              {
                branch: 'staging',
                target: `${REGISTRY}/acme/${id}:staging`,
                services: [{ name: 'website_staging' }],
              },
            ],
          },
        ],
      },
    ],
  },
  { deploySettings: testDeploySettings(dockerConfigWithContext('testhost')), signIn: true },
);

async function commit(branch: string, run: string, pr?: number): Promise<string> {
  repo.write({ busybox }, 0o755);
  repo.write({ Dockerfile: dockerfile(run) });
  const sha = repo.commit(`${branch}: ${run}`);
  repo.push(branch);
  const payload = pr
    ? pullRequestPayload(where, 'opened', pr, sha)
    : pushPayload(where, branch, sha);
  await h.send(pr ? 'pull_request' : 'push', payload);
  await waitFor(`the build of ${branch}`, async () =>
    (await h.deployer.runtime.store.records('acme/website', sha)).find((r) =>
      ['success', 'failure'].includes(r.status),
    ),
  );
  return sha;
}

try {
  const deployed = (sha: string, trigger = 'push') =>
    waitFor(
      'the deploy',
      async () =>
        (await h.deployer.runtime.deploys.history(`default/${service}`)).find(
          (e) => e.sha === sha && e.result === 'success' && e.trigger?.kind === trigger,
        ),
      120_000,
    );
  await commit('main', 'echo compiling the site; echo 42 pages written');
  const live = await commit('live', 'echo compiling the site; echo 42 pages written');
  await deployed(live);
  await deployed(await commit('live', 'echo compiling the site; echo 43 pages written'));
  await commit('add-blog', 'echo compiling the blog; echo 7 posts', 12);
  await commit('broken-links', 'echo checking links; echo "404: /about" >&2; exit 1');
  const [failed] = (
    await Promise.all(
      Object.values(await h.deployer.runtime.store.heads('acme/website')).map((sha) =>
        h.deployer.runtime.store.records('acme/website', sha),
      ),
    )
  )
    .flat()
    .filter((r) => r.status === 'failure');

  mkdirSync(OUT, { recursive: true });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  // Signed in as an admin, who rolls the live site back to its first version.
  h.github.oauthLogin = 'alice';
  await page.goto(`${h.url}/services`);
  await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
  await page.waitForURL(`${h.url}/services`);
  await page
    .locator('tr', { hasText: live.slice(0, 7) })
    .first()
    .getByRole('button', { name: 'Roll back to this' })
    .click();
  await deployed(live, 'rollback');
  for (const [name, path] of [
    ['overview', '/'],
    ['job', `/jobs/${failed.jobId}`],
    ['services', '/services'],
  ]) {
    await page.goto(`${h.url}${path}`);
    await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
    console.log(`${OUT}/${name}.png`);
  }
  await browser.close();
} finally {
  await h.close();
  await git.stop();
  docker('service', 'rm', service);
}
