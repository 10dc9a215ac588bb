// The Quick start demo, in local mode (no GitHub App needed). It creates the
// repository demo/hello, served over git's HTTP protocol, with a working copy to
// commit from, and the Swarm service demo_web. Deployer reads the `live` branch
// head with `git ls-remote` every 2 s, builds the image on the local Docker Engine,
// pushes it to the local registry as a manifest list, and updates the service to
// it. The demo commits v1 and v2 to `live`, then keeps running with the web UI on
// localhost until Ctrl-C, so any commit pushed to `live` is deployed in seconds.
//
//   --once (or DEMO_ONCE=1)  exit after the two deploys
//   DEMO_PORT=3000           the web UI's port (0: any free port)
//   DEMO_SITE_PORT=8080      where the page demo_web serves is forwarded, on 127.0.0.1
//   DEMO_SERVICE=demo_web    the Swarm service (removed and re-created at start)
//   DEMO_IMAGE=127.0.0.1:5000/demo/hello   the image, deployed as its `live` tag
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { readEnv } from '../src/config/env.js';
import { parseFlavour } from '../src/config/load.js';
import { readDeploySettings } from '../src/wiring/deploy-deps.js';
import { startLocal, type RunningLocal } from '../src/entry/local.js';
import type { DeployEntry } from '../src/store/deploy-store.js';
import { GitServer } from '../test/helpers/git-server.js';
import { deleteKeys } from '../test/helpers/redis-keys.js';

const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
const SERVICE = process.env.DEMO_SERVICE || 'demo_web';
const IMAGE = process.env.DEMO_IMAGE || `${REGISTRY}/demo/hello`;
const UI_PORT = portFrom('DEMO_PORT', '3000');
const SITE_PORT = portFrom('DEMO_SITE_PORT', '8080');
const ONCE = process.argv.includes('--once') || process.env.DEMO_ONCE === '1';
const POLL_MS = 2_000;
const REPO = 'demo/hello';
const LIVE = 'refs/heads/live';
const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
COPY index.html /www/index.html
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
`;

function portFrom(name: string, fallback: string): number {
  const raw = process.env[name] || fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    console.error(`${name}=${raw}: expected a TCP port number (0 for any free port)`);
    process.exit(2);
  }
  return Number(raw);
}

/** A port taken by something else is the likeliest failure to start: say what to do. */
function inUse(name: string, port: number) {
  return (err: NodeJS.ErrnoException): never => {
    if (err.code !== 'EADDRINUSE') throw err;
    console.error(`port ${port} is in use: set ${name} to a free port (0 for any)`);
    process.exit(2);
  };
}

async function freeToListen(port: number): Promise<void> {
  if (!port) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, 'localhost', resolve);
  });
  await new Promise((r) => probe.close(r));
}

const docker = (...args: string[]) =>
  execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const exec = promisify(execFile);
// Asynchronous: the repository is served by this process, which must keep answering.
const git = async (cwd: string, ...args: string[]) =>
  (await exec('git', args, { cwd, encoding: 'utf8' })).stdout.trim();
const say = (text: string) => console.log(`\n▶ ${text}`);
const note = (text: string) => console.log(`  ${text}`);
const short = (sha: string) => sha.slice(0, 7);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The service is re-created from scratch, so each run starts from the same state. */
async function removeService(): Promise<void> {
  try {
    docker('service', 'rm', SERVICE);
  } catch {
    return; // not there
  }
  for (let i = 0; i < 150 && taskContainers().length; i++) await sleep(200);
}

const taskContainers = () =>
  docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${SERVICE}`)
    .split('\n')
    .filter(Boolean);

/** The service as an operator would have created it before its first deploy. */
function createService(dir: string): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(dir, 'index.html'), '<h1>Not deployed yet</h1>\n');
  const placeholder = `${IMAGE}:placeholder`;
  execFileSync('docker', ['build', '-q', '-t', placeholder, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  docker('push', placeholder);
  docker(
    'service',
    'create',
    '--detach',
    '--name',
    SERVICE,
    '--stop-grace-period',
    '1s',
    placeholder,
  );
}

/** A bare repository served over HTTP, and a working copy of it on `live` to commit from. */
async function createRepo(server: GitServer, dir: string): Promise<string> {
  const bare = join(server.root, `${REPO}.git`);
  mkdirSync(bare, { recursive: true });
  await git(bare, 'init', '-q', '--bare');
  await git(bare, 'config', 'http.receivepack', 'true'); // pushes over HTTP, as to a forge
  const work = join(dir, 'hello');
  mkdirSync(work);
  await git(work, 'init', '-q', '-b', 'live');
  await git(work, 'config', 'user.name', 'Demo');
  await git(work, 'config', 'user.email', 'demo@example.org');
  await git(work, 'remote', 'add', 'origin', server.cloneUrl('demo', 'hello'));
  writeFileSync(join(work, 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
  writeFileSync(join(work, 'Dockerfile'), DOCKERFILE);
  return work;
}

async function commitAndPush(work: string, version: string): Promise<string> {
  writeFileSync(join(work, 'index.html'), `<h1>Hello from ${version}</h1>\n`);
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', version);
  await git(work, 'push', '-q', '-u', 'origin', 'live');
  return await git(work, 'rev-parse', 'HEAD');
}

/**
 * Forwards 127.0.0.1:SITE_PORT to the service's running task, so its page can be
 * opened without publishing a port on every interface of the machine.
 */
async function forwardSite(): Promise<Server> {
  const taskAddress = async () => {
    for (const id of taskContainers()) {
      const { stdout } = await exec('docker', [
        'inspect',
        id,
        '--format',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
      ]);
      const ip = stdout.trim().split(' ')[0];
      if (ip) return ip;
    }
    return undefined;
  };
  const server = createServer((req, res) => {
    taskAddress()
      .catch(() => undefined)
      .then((host) => {
        if (!host) return void res.writeHead(503).end(`${SERVICE} has no running task\n`);
        const upstream = request(
          { host, port: 8080, path: req.url, method: req.method, headers: req.headers },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        upstream.on('error', (err) => res.writeHead(502).end(`${SERVICE}: ${err.message}\n`));
        req.pipe(upstream);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(SITE_PORT, '127.0.0.1', resolve);
  });
  return server;
}

/** Prints what happens to `live`: each new head, failed builds, each deploy's result. */
function follow(local: RunningLocal, ui: string): { tick(): Promise<void>; stop(): void } {
  const { store, deploys } = local.runtime;
  const told = new Set<string>();
  const tell = (key: string, text: string) => {
    if (told.has(key)) return;
    told.add(key);
    note(text);
  };
  const jobUrl = (id: string) => `${ui}/jobs/${encodeURIComponent(id)}`;
  const report = (e: DeployEntry) => {
    const ran = e.result === 'success' || e.result === 'unchanged';
    const took = e.finishedAt ? ` in ${((e.finishedAt - e.startedAt) / 1000).toFixed(1)} s` : '';
    const mark = ran ? '✔' : e.result === 'failure' ? '✘' : '–';
    const what = `${mark} ${short(e.sha)} → ${SERVICE}: ${e.result}${took}`;
    tell(`deploy ${e.jobId} ${e.result}`, `${what}${e.error ? ` (${e.error})` : ''}`);
    note(`  ${ran ? `${SERVICE} runs ${e.digest}; ` : ''}log: ${jobUrl(e.jobId)}`);
  };
  const tick = async () => {
    const head = (await store.heads(REPO))[LIVE];
    if (head) {
      tell(`head ${head}`, `… Deployer saw live at ${short(head)}: building it`);
      for (const r of await store.records(REPO, head))
        if (r.status === 'failure' || r.status === 'cancelled')
          tell(
            `build ${r.jobId}`,
            `✘ build of ${short(head)}: ${r.status}; log: ${jobUrl(r.jobId)}`,
          );
    }
    const [latest] = await deploys.history(`default/${SERVICE}`);
    if (
      latest &&
      latest.result !== 'deploying' &&
      !told.has(`deploy ${latest.jobId} ${latest.result}`)
    )
      report(latest);
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick()
      .catch((err: Error) => note(`(could not read progress: ${err.message})`))
      .finally(() => (busy = false));
  }, 250);
  return { tick, stop: () => clearInterval(timer) };
}

/** Waits until `sha` is deployed (or its build or deploy failed). */
async function deployed(local: RunningLocal, sha: string): Promise<DeployEntry> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const entry = (await local.runtime.deploys.history(`default/${SERVICE}`)).find(
      (e) => e.sha === sha && e.result !== 'deploying',
    );
    if (entry) return entry;
    const failed = (await local.runtime.store.records(REPO, sha)).find(
      (r) => r.status === 'failure' || r.status === 'cancelled',
    );
    if (failed)
      throw new Error(`the build of ${short(sha)} failed: ${failed.error ?? failed.status}`);
    await sleep(250);
  }
  throw new Error(`${short(sha)} was not deployed within 3 minutes`);
}

function instructions(ui: string, site: string, work: string, cloneUrl: string): void {
  say('The demo is running. Open:');
  console.log(`  ${ui.padEnd(32)} ${REPO}: its live branch, the commit and the job that built it`);
  console.log(`  ${''.padEnd(32)} (click the commit or the job's state for its log)`);
  console.log(`  ${`${ui}/services`.padEnd(32)} what ${SERVICE} runs: digest, commit, history`);
  console.log(`  ${site.padEnd(32)} the page ${SERVICE} serves`);
  say(`Try a redeploy: commit to ${REPO}'s live branch, from its working copy:`);
  console.log(`    cd ${work}`);
  console.log(`    echo '<h1>Hello from me</h1>' > index.html`);
  console.log(`    git commit -qam 'Hello from me' && git push -q`);
  console.log('');
  note(`Deployer reads the branch every ${POLL_MS / 1000} s, builds the commit and updates`);
  note(`${SERVICE}; this terminal and the web UI show it. Or clone it: git clone ${cloneUrl}`);
  note(`Ctrl-C stops the demo and removes ${REPO} with its working copy; ${SERVICE}`);
  note(`keeps running (docker service rm ${SERVICE} removes it).`);
}

// Ports first: a failed start leaves nothing behind.
await freeToListen(UI_PORT).catch(inUse('DEMO_PORT', UI_PORT));
const site = await forwardSite().catch(inUse('DEMO_SITE_PORT', SITE_PORT));
const dir = mkdtempSync(join(tmpdir(), 'deployer-demo-'));
const server = await new GitServer().start();
const work = await createRepo(server, dir);
await removeService();
createService(join(dir, 'placeholder'));
const prefix = `demo-${Date.now()}`;
const env = { ...readEnv(), prefix, workDir: join(dir, 'builds') };
const local = await startLocal({
  env,
  flavour: parseFlavour(
    {
      name: 'demo',
      baseUrl: `http://localhost:${UI_PORT || 3000}`,
      stagingRepo: `${IMAGE}-staging`,
      repos: [
        {
          owner: 'demo',
          name: 'hello',
          cloneUrl: server.cloneUrl('demo', 'hello'),
          builds: [
            {
              dockerfile: 'Dockerfile',
              deployments: [
                { branch: 'live', target: `${IMAGE}:live`, services: [{ name: SERVICE }] },
              ],
            },
          ],
        },
      ],
    },
    'demo flavour',
  ),
  deploySettings: readDeploySettings(),
  pollMs: POLL_MS,
  log: pino({ level: process.env.LOG_LEVEL ?? 'error' }), // the demo tells what happens
  web: { port: UI_PORT, host: 'localhost' },
}).catch(inUse('DEMO_PORT', UI_PORT));
const ui = local.url!;
const siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`;
const progress = follow(local, ui);

let stopping: Promise<never> | undefined;
const stop = (code: number): Promise<never> => (stopping ??= shutdown(code));
async function shutdown(code: number): Promise<never> {
  progress.stop();
  await local.close();
  await deleteKeys(env.redisUrl, prefix);
  await new Promise((r) => site.close(r));
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(server.root, { recursive: true, force: true });
  say(
    `demo stopped and ${REPO} removed; ${SERVICE} keeps running (docker service rm ${SERVICE} removes it)`,
  );
  process.exit(code);
}
const onSignal = () => {
  if (stopping) process.exit(1); // a second signal: do not wait
  void stop(0);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

say(`Deployer runs in local mode; web UI at ${ui}`);
note(`${REPO} is served at ${server.cloneUrl('demo', 'hello')}; Swarm service ${SERVICE}`);
note(`runs a placeholder; its page is forwarded to ${siteUrl}`);
try {
  for (const version of ['v1', 'v2']) {
    const sha = await commitAndPush(work, version);
    say(`committed ${version} (${short(sha)}) to ${REPO}'s live branch`);
    const entry = await deployed(local, sha);
    await progress.tick(); // its result is told before the next step
    if (entry.result !== 'success')
      throw new Error(`deploying ${version}: ${entry.error ?? entry.result}`);
  }
} catch (err) {
  if (!stopping) say(`demo failed: ${(err as Error).message}`); // else Redis closed under it
  await stop(1);
}
if (ONCE) {
  say(
    `${SERVICE} runs v2: ${docker('service', 'inspect', SERVICE, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}')}`,
  );
  await stop(0);
}
instructions(ui, siteUrl, work, server.cloneUrl('demo', 'hello'));
