// The Quick start demo, in local mode (no GitHub App needed): a repository served
// over git's HTTP protocol with a `live` branch; Deployer reads the branch head with
// `git ls-remote`, builds the image on the local Docker Engine, pushes it to the local
// registry as a manifest list, and updates a Swarm service to it. Then a second
// commit to `live` is deployed the same way.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { readEnv } from '../src/config/env.js';
import { parseFlavour } from '../src/config/load.js';
import { readDeploySettings } from '../src/deploy-deps.js';
import { startLocal } from '../src/local.js';
import { GitServer } from '../test/helpers/git-server.js';
import { waitFor } from '../test/helpers/harness.js';

const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
const SERVICE = 'demo_web';
const docker = (...args: string[]) =>
  execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const say = (text: string) => console.log(`\n▶ ${text}`);

const git = await new GitServer().start();
const repo = git.createRepo('demo', 'hello');
const dockerfile = (version: string) =>
  `FROM scratch\nCOPY busybox /bin/busybox\nCOPY index.html /www/index.html\nCMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n# ${version}\n`;

// The service exists before the first deploy, as an operator would have created it.
try {
  docker('service', 'rm', SERVICE);
} catch {
  // not there yet
}
repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);

const local = await startLocal({
  env: {
    ...readEnv(),
    prefix: `demo-${Date.now()}`,
    workDir: mkdtempSync(join(tmpdir(), 'deployer-demo-')),
  },
  flavour: parseFlavour(
    {
      name: 'demo',
      baseUrl: 'http://localhost:3000',
      stagingRepo: `${REGISTRY}/demo/staging`,
      repos: [
        {
          owner: 'demo',
          name: 'hello',
          cloneUrl: git.cloneUrl('demo', 'hello'),
          builds: [
            {
              dockerfile: 'Dockerfile',
              deployments: [
                {
                  branch: 'live',
                  target: `${REGISTRY}/demo/hello:live`,
                  services: [{ name: SERVICE }],
                },
              ],
            },
          ],
        },
      ],
    },
    'demo flavour',
  ),
  deploySettings: readDeploySettings(),
  pollMs: 1_000,
  log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
});

async function deploy(version: string) {
  repo.write({ 'index.html': `<h1>Hello from ${version}</h1>\n`, Dockerfile: dockerfile(version) });
  const sha = repo.commit(version);
  repo.push('live');
  say(`committed ${version} (${sha.slice(0, 7)}) to demo/hello's live branch`);
  const done = await waitFor(
    `${version} to be deployed`,
    async () => {
      const [latest] = await local.runtime.deploys.history(`default/${SERVICE}`);
      return latest?.sha === sha && latest.result !== 'deploying' ? latest : undefined;
    },
    180_000,
  );
  const [job] = await local.runtime.queues.deploy.getJobs(['completed', 'failed']);
  const { logs } = await local.runtime.queues.deploy.getJobLogs(job.id!);
  say(`deploy log of ${job.id}:\n${logs.join('\n')}`);
  say(
    `${SERVICE} ${done.result}: ${docker('service', 'inspect', SERVICE, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}')}`,
  );
  return done;
}

// The first deploy needs the service; create it from a placeholder image built here.
repo.write({ 'index.html': '<h1>placeholder</h1>\n', Dockerfile: dockerfile('placeholder') });
execFileSync('docker', ['build', '-q', '-t', `${REGISTRY}/demo/placeholder:v0`, repo.work], {
  env: { ...process.env, DOCKER_BUILDKIT: '0' },
});
docker('push', `${REGISTRY}/demo/placeholder:v0`);
docker(
  'service',
  'create',
  '--detach',
  '--name',
  SERVICE,
  '--stop-grace-period',
  '1s',
  `${REGISTRY}/demo/placeholder:v0`,
);
say(`created the Swarm service ${SERVICE}; Deployer polls demo/hello every second`);

const first = await deploy('v1');
const second = await deploy('v2');
say(`history of ${SERVICE}:`);
for (const e of await local.runtime.deploys.history(`default/${SERVICE}`)) {
  console.log(
    `  ${new Date(e.startedAt).toISOString()}  ${e.sha.slice(0, 7)}  ${e.result.padEnd(9)} ${e.digest}`,
  );
}
await local.close();
await git.stop();
const ok = first.result === 'success' && second.result === 'success';
say(ok ? 'demo finished: both commits deployed' : 'demo failed');
process.exit(ok ? 0 : 1);
