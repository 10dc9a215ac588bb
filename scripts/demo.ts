// The Quick start demo: a local repository served over git's HTTP protocol, a
// signed push webhook delivered to Deployer, the image built by the local Docker
// Engine, and the `deployability` check run printed as GitHub would receive it.
// GitHub itself is played by a local stand-in (the GitHub Enterprise API at GHE_HOST).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readEnv } from '../src/config/env.js';
import { parseFlavour } from '../src/config/load.js';
import { startDeployer } from '../src/start.js';
import { GitServer } from '../test/helpers/git-server.js';
import { GitHubStandIn } from '../test/helpers/github-stand-in.js';
import { sendWebhook, testPrivateKey, waitFor, WEBHOOK_SECRET } from '../test/helpers/harness.js';
import { pushPayload } from '../test/helpers/payloads.js';

type CheckRunBody = {
  status?: string;
  conclusion?: string;
  output?: { title: string; summary: string; text?: string };
};

const git = await new GitServer().start();
const github = await new GitHubStandIn().start();
const port = process.env.PORT ?? '3000';

const repo = git.createRepo('demo', 'hello');
repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
repo.write({
  Dockerfile: [
    'FROM scratch',
    'COPY busybox /bin/busybox',
    'RUN ["/bin/busybox", "sh", "-c", "echo Hello from a Deployer build on $(/bin/busybox uname -m)"]',
    'CMD ["/bin/busybox", "httpd", "-f", "-p", "8080"]',
    '',
  ].join('\n'),
});
const sha = repo.commit('Hello, Deployer');
repo.push('main');
console.log(
  `\n▶ demo/hello: committed ${sha.slice(0, 7)} to main, served at ${git.cloneUrl('demo', 'hello')}`,
);

const deployer = await startDeployer({
  env: { ...readEnv(), prefix: `demo-${randomUUID().slice(0, 8)}` },
  flavour: parseFlavour(
    {
      name: 'demo',
      baseUrl: `http://127.0.0.1:${port}`,
      repos: [{ owner: 'demo', name: 'hello', builds: [{ dockerfile: 'Dockerfile' }] }],
    },
    'demo flavour',
  ),
  probotEnv: {
    APP_ID: '1',
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET,
    LOG_LEVEL: (process.env.LOG_LEVEL as 'info') ?? 'info',
    PORT: port,
    HOST: '127.0.0.1',
    ...github.env(),
  },
  receiver: true,
  worker: true,
});
console.log(`▶ Deployer is listening at ${deployer.url}`);

const payload = pushPayload(
  { owner: 'demo', name: 'hello', cloneUrl: git.cloneUrl('demo', 'hello') },
  'main',
  sha,
);
const res = await sendWebhook(deployer.url!, 'push', payload);
console.log(`▶ signed push webhook delivered: HTTP ${res.status}`);

let shown = 0;
const result = await waitFor(
  'the check run to conclude',
  () => {
    const writes = github.checkRunWrites();
    for (const w of writes.slice(shown)) {
      const body = w.body as CheckRunBody;
      console.log(
        `▶ GitHub ← ${w.method} ${w.path}: ${body.conclusion ?? body.status} — ${body.output?.title}`,
      );
    }
    shown = writes.length;
    return writes.map((w) => w.body as CheckRunBody).find((b) => b.conclusion);
  },
  180_000,
);

const queue = deployer.runtime.queues.build('linux-x86_64');
for (const job of await queue.getJobs()) {
  const { logs } = await queue.getJobLogs(job.id!);
  console.log(`\n${'─'.repeat(72)}\nlog of ${job.id}:\n${logs.join('\n')}`);
}
console.log(
  `\n${'─'.repeat(72)}\ndeployability: ${result.conclusion}\n${result.output?.title}\n\n${result.output?.summary}`,
);
if (result.output?.text) console.log(`\n${result.output.text}`);
const image = `deployer-build/*:${sha.slice(0, 12)}-linux-x86_64`;
console.log(
  `${'─'.repeat(72)}\nThe image is on the local engine: docker images --filter reference='${image}'\n`,
);

await deployer.close();
await github.stop();
await git.stop();
process.exit(result.conclusion === 'success' ? 0 : 1);
