import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from '../helpers/demo-process.js';
import { uniqueName, waitFor } from '../helpers/harness.js';
import { docker, REGISTRY, runningTasks, serviceImage } from '../helpers/swarm.js';

// The Quick start's demo, end to end: `bash scripts/demo.sh` sets up (the services
// already run, so it only checks them), deploys v1 and v2 to a Swarm service, and
// keeps running; the test reads its web UI, commits to `live` with the commands the
// demo prints, and stops it with Ctrl-C's signal.
describe('bash scripts/demo.sh', () => {
  const service = uniqueName('demo_web');
  const image = `${REGISTRY}/demo/${service}`;
  let demo: DemoProcess;
  let ui = '';
  let site = '';
  let commands: string[] = [];

  const get = async (url: string) => {
    const res = await fetch(url);
    expect(res.status, url).toBe(200);
    return res.text();
  };
  /** What the services page says the service runs: digest and short commit. */
  const running = async () => {
    const html = await get(`${ui}/services`);
    const m =
      /<p>Running <code class="digest">(sha256:[0-9a-f]{64})<\/code>\s*from <a href="[^"]+"><code>([0-9a-f]{7})<\/code><\/a>/.exec(
        html,
      );
    return { html, digest: m?.[1], short: m?.[2] };
  };

  beforeAll(async () => {
    demo = startDemo({
      DEMO_SERVICE: service,
      DEMO_IMAGE: image,
      DEMO_PORT: '0',
      DEMO_SITE_PORT: '0',
    });
    ui = (await demo.waitForOutput(/web UI at (http:\/\/localhost:\d+)/, 60_000))[1];
    site = (await demo.waitForOutput(/forwarded to (http:\/\/localhost:\d+)/, 5_000))[1];
    const block = (await demo.waitForOutput(/▶ Try a redeploy[^\n]*\n((?: {4}.*\n)+)/, 90_000))[1];
    commands = block.split('\n').filter(Boolean);
  }, 150_000);

  afterAll(async () => {
    if (demo?.child.exitCode === null) {
      demo.child.kill('SIGKILL');
      await demo.exited;
    }
    try {
      docker('service', 'rm', service);
    } catch {
      // never created
    }
  });

  it('deploys v1 then v2 and shows the repository, the job with its log and the service', async () => {
    const out = demo.output();
    const v1 = /committed v1 \(([0-9a-f]{7})\)/.exec(out)![1];
    const v2 = /committed v2 \(([0-9a-f]{7})\)/.exec(out)![1];
    expect(out).toContain(`✔ ${v1} → ${service}: success`);
    expect(out).toContain(`✔ ${v2} → ${service}: success`);

    const overview = await get(`${ui}/`);
    expect(overview).toContain('<h2>demo/hello</h2>');
    expect(overview).toContain('<td>live <span class="tag">deploys</span></td>');
    const job = new RegExp(`<a href="(/jobs/[^"]+)"><code>${v2}</code></a>`).exec(overview);
    expect(job, overview).not.toBeNull();
    expect(overview).toContain(`<a class="state state-success" href="${job![1]}">success</a>`);

    const jobPage = await get(`${ui}${job![1]}`);
    expect(jobPage).toMatch(new RegExp(`<dt>Commit</dt><dd><code>${v2}[0-9a-f]{33}</code>`));
    expect(jobPage).toContain('<span id="state" class="state state-completed">completed</span>');
    expect(jobPage).toMatch(/<li>[^<]*COPY index.html \/www\/index.html/); // the build's log

    const now = await running();
    expect(now.html).toContain(`<h2>${service} <span class="state state-deployed">deployed</span>`);
    expect(now.short, now.html).toBe(v2);
    expect(serviceImage(service)).toBe(`${image}:live@${now.digest}`);
    expect(runningTasks(service).map((t) => t.image)).toEqual([serviceImage(service)]);
    expect(await get(site)).toBe('<h1>Hello from v2</h1>\n');
  });

  it('redeploys within seconds a commit pushed to live as it tells the user to', async () => {
    expect(commands).toHaveLength(3);
    expect(commands[0]).toMatch(/^ {4}cd \/\S+\/hello$/);
    const before = await running();
    const started = Date.now();
    execFileSync('bash', ['-ec', commands.join('\n')], { stdio: 'pipe' });
    const work = commands[0].trim().slice('cd '.length);
    const sha = execFileSync('git', ['-C', work, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(
      execFileSync('git', ['-C', work, 'ls-remote', 'origin', 'live'], { encoding: 'utf8' }),
    ).toMatch(new RegExp(`^${sha}\\s+refs/heads/live`));

    const after = await waitFor(
      'the services page to show the new commit running',
      async () => {
        const r = await running();
        return r.short === sha.slice(0, 7) ? r : undefined;
      },
      30_000,
    );
    const took = Date.now() - started;
    expect(took).toBeLessThan(30_000);
    expect(after.digest).not.toBe(before.digest);
    expect(serviceImage(service)).toMatch(new RegExp(`@${after.digest}$`));
    await waitFor('the new task to be the only one running', () => {
      const tasks = runningTasks(service);
      return tasks.length === 1 && tasks[0].image.endsWith(`@${after.digest}`) ? true : undefined;
    });
    expect(await get(site)).toBe('<h1>Hello from me</h1>\n');
    const overview = await get(`${ui}/`);
    expect(overview).toContain(`<code>${sha.slice(0, 7)}</code>`);
    await demo.waitForOutput(new RegExp(`✔ ${sha.slice(0, 7)} → ${service}: success`), 5_000);
  }, 60_000);

  it('shows a commit that does not build as failed and keeps the service on the last good one', async () => {
    const work = commands[0].trim().slice('cd '.length);
    const before = await running();
    execFileSync('bash', [
      '-ec',
      `cd ${work}; echo 'RUN false' >> Dockerfile; git commit -qam broken; git push -q`,
    ]);
    const short = execFileSync('git', ['-C', work, 'rev-parse', '--short=7', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const line = await demo.waitForOutput(
      new RegExp(`✘ build of ${short}: failure; log: (\\S+)`),
      30_000,
    );
    const overview = await get(`${ui}/`);
    expect(overview).toMatch(
      new RegExp(`<code>${short}</code></a></td>\\s*<td><a class="state state-failure"`),
    );
    expect(await get(line[1])).toContain('RUN false');
    const now = await running();
    expect([now.digest, now.short]).toEqual([before.digest, before.short]);
    expect(serviceImage(service)).toBe(`${image}:live@${before.digest}`);
    expect(await get(site)).toBe('<h1>Hello from me</h1>\n');
  }, 45_000);

  it('stops on SIGINT, removing its repository and leaving the service running', async () => {
    const work = commands[0].trim().slice('cd '.length);
    demo.child.kill('SIGINT');
    const code = await Promise.race([
      demo.exited,
      new Promise((r) => setTimeout(() => r('still running'), 20_000)),
    ]);
    expect(code, demo.output()).toBe(0);
    expect(demo.output()).toContain(
      `demo stopped and demo/hello removed; ${service} keeps running`,
    );
    expect(existsSync(work)).toBe(false);
    await expect(fetch(`${ui}/`)).rejects.toThrow();
    expect(serviceImage(service)).toMatch(/@sha256:[0-9a-f]{64}$/);
  }, 30_000);
});
